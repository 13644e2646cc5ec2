// A signed-in customer's documents on this device: the catalog, their user document and one
// subdocument per order (SPEC.md: `orders` maps orderId → Y.Doc with guid `order/<id>`), each kept
// in IndexedDB and synced through its own provider on the room named by its guid — and, when the
// customer registered a home store whose lab node serves the shop's LAN, through a second provider
// to that lab node.
import * as Y from 'yjs'
import { ObservableV2 } from 'lib0/observable'
import { Close } from '../../../shared/errors.ts'
import { parseRoom, roomName, type Catalog, type OrderItem } from '../../../shared/schema.ts'
import { readOrder, writeDraft, type OrderView } from '../orders/order-doc.ts'
import { isSettled } from '../orders/stage.ts'
import { LOCAL_PREFIX } from '../session/device.ts'
import { DocLink, localName, type LinkStatus } from './doc-link.ts'
import { homeStore, type HomeStore } from './home-store.ts'

/** A write of this device the relay refused, kept (per room) until the customer dismisses it. */
export interface Refusal {
  /** The relay's words, without its "write refused: " prefix. */
  reason: string
  at: string
}

const REFUSAL_MARK = `${LOCAL_PREFIX}.refused:`
const MAX_REASON = 500

/**
 * The relay's answer to a write that builds on changes it does not have. It is a consequence, not
 * a cause: the relay named the cause when it refused the earlier write (on this connection, or
 * again when this device reconnects and sends it in its sync step 2). The same words also answer a
 * client whose change overtook its own sync step 2, whose changes then arrive whole: resetting on
 * them could throw away changes the relay is about to take.
 */
const CONSEQUENCE = /builds on changes the relay does not have/

/** A refused order is reset at most this often, so that a copy elsewhere bringing the refused changes back cannot loop. */
const RESET_EVERY_MS = 30_000

export interface PhotoInfo { name: string; width: number; height: number; uploaded?: boolean }

export interface WorkspaceDeps {
  userId: string
  token: string
  httpUrl: string
  wsUrl: string
  /** Whether the page was served over https, which may not open ws:// sockets (mixed content). */
  secure: boolean
  now: () => Date
  /** A new order id: 20+ characters of [A-Za-z0-9_-]. */
  newOrderId: () => string
}

/** 16 random bytes in base64url: 22 characters. */
export function randomOrderId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export class Workspace extends ObservableV2<{ change: () => void; unauthorized: () => void }> {
  readonly catalog: DocLink
  readonly user: DocLink
  private readonly orderLinks = new Map<string, DocLink>()
  private changeQueued = false
  private destroyed = false
  private store: HomeStore = { front: null, wsUrl: null, httpUrl: null, blocked: false }
  /** When each order was last reset after a refusal (epoch ms), and resets put off until the pause is over. */
  private readonly resets = new Map<string, number>()
  private readonly resetTimers = new Map<string, ReturnType<typeof setTimeout>>()

  constructor(private readonly deps: WorkspaceDeps) {
    super()
    const relay = { wsUrl: deps.wsUrl, token: deps.token }
    this.catalog = this.watch(new DocLink(roomName.catalog(), new Y.Doc(), relay))
    this.user = this.watch(new DocLink(roomName.user(deps.userId), new Y.Doc(), relay))
    // The user document is not reset like an order (see refusedOrder): its copy on this device holds
    // the list of orders made here, some perhaps not yet at the relay, and whatever the relay refused
    // there (a full document) it would refuse again. The customer is told.
    this.user.on('refused', (reason) => { if (!CONSEQUENCE.test(reason)) this.recordRefusal(this.user.room, reason) })
    this.user.doc.on('subdocs', ({ added, removed }: { added: Set<Y.Doc>; removed: Set<Y.Doc> }) => {
      for (const doc of removed) this.dropOrder(doc)
      for (const doc of added) this.addOrder(doc)
    })
    // The home store comes from two documents (the profile and the catalog's fronts), either of which
    // may change at any time, from this device, another one or the relay.
    this.catalog.doc.getMap('catalog').observe(this.followStore)
    this.user.doc.getMap('profile').observe(this.followStore)
    void this.loaded.then(this.followStore)
    this.catalog.connect()
    this.user.connect()
  }

  get userId(): string { return this.deps.userId }

  /** The store the customer registered as home, if any (the user document's `profile.homeFront`). */
  get homeFront(): string | null {
    const id = this.user.doc.getMap('profile').get('homeFront')
    return typeof id === 'string' && id ? id : null
  }

  /** Registers a store as home, or clears it with null. */
  setHomeFront(front: string | null): void {
    const profile = this.user.doc.getMap('profile')
    if (front) {
      if (profile.get('homeFront') !== front) profile.set('homeFront', front)
    } else if (profile.has('homeFront')) profile.delete('homeFront')
  }

  /** The home store's lab node as this page can reach it (or why not). */
  get homeStore(): HomeStore { return this.store }

  /** The in-store link (the user document's connection to the home store's lab node); null when there is none to make. */
  get storeStatus(): LinkStatus | null { return this.user.storeStatus }

  /**
   * Where photos go now: the relay when it is reachable (or nothing is), the home store's lab node
   * when only that one is.
   */
  uploadTarget(): { url: string; via: 'relay' | 'store' } {
    if (this.user.status !== 'connected' && this.user.storeStatus === 'connected' && this.store.httpUrl) return { url: this.store.httpUrl, via: 'store' }
    return { url: this.deps.httpUrl, via: 'relay' }
  }

  /** The clock estimates are made against (a parameter, so tests can fix it). */
  now(): Date { return this.deps.now() }

  /** Resolves once the device's copies of the catalog and user document are loaded. */
  get loaded(): Promise<void> {
    return Promise.all([this.catalog.loaded, this.user.loaded]).then(() => undefined)
  }

  /** The catalog as the relay published it; null until it has been synced once. */
  get catalogValue(): Catalog | null {
    const map = this.catalog.doc.getMap('catalog')
    return map.has('products') ? (map.toJSON() as Catalog) : null
  }

  orderLink(id: string): DocLink | undefined {
    return this.orderLinks.get(id)
  }

  orders(): OrderView[] {
    return [...this.orderLinks.entries()].map(([id, link]) => readOrder(id, link.doc))
  }

  photos(): Y.Map<PhotoInfo> {
    return this.user.doc.getMap<PhotoInfo>('photos')
  }

  notePhoto(sha256: string, info: PhotoInfo): void {
    const photos = this.photos()
    const known = photos.get(sha256)
    if (!known || (info.uploaded && !known.uploaded)) photos.set(sha256, { ...known, ...info })
  }

  /** The photo is in no order any more: it leaves the customer's photo list. */
  forgetPhoto(sha256: string): void {
    const photos = this.photos()
    if (photos.has(sha256)) photos.delete(sha256)
  }

  /** Whether any order on this device (`except` aside) has a print of the photo. */
  photoInUse(sha256: string, except?: string): boolean {
    return this.orders().some((order) => order.id !== except && order.spec.items.some((item) => item.image === sha256))
  }

  /** A new draft in the customer's orders; returns its id. */
  createDraft(items: OrderItem[] = [], front = ''): string {
    const id = this.deps.newOrderId()
    const doc = new Y.Doc({ guid: roomName.order(id) })
    // Written before the subdocument joins the user document, so the order's first update carries
    // spec.user, which is what makes it this customer's at the relay.
    writeDraft(doc, { id, user: this.deps.userId, front, createdAt: this.deps.now().toISOString(), items })
    this.user.doc.getMap<Y.Doc>('orders').set(id, doc)
    return id
  }

  /** A new draft with the items and store of an earlier order. */
  reorder(id: string): string | null {
    const link = this.orderLinks.get(id)
    if (!link) return null
    const { spec } = readOrder(id, link.doc)
    return this.createDraft(spec.items.map((item) => ({ ...item })), spec.front ?? '')
  }

  /** Drafts only: the order leaves the customer's list. */
  discardDraft(id: string): void {
    const link = this.orderLinks.get(id)
    if (link && readOrder(id, link.doc).spec.state === 'draft') this.user.doc.getMap('orders').delete(id)
  }

  /** The write to a room (`order/<id>`, `user/<id>`) the relay last refused, until dismissed. */
  refusal(room: string): Refusal | null {
    try {
      const value = JSON.parse(localStorage.getItem(REFUSAL_MARK + room) ?? 'null') as Partial<Refusal> | null
      return value && typeof value.reason === 'string' && typeof value.at === 'string' ? { reason: value.reason, at: value.at } : null
    } catch {
      return null
    }
  }

  /** The customer has read it. */
  dismissRefusal(room: string): void {
    localStorage.removeItem(REFUSAL_MARK + room)
    this.changed()
  }

  /** The network is back: every document reconnects at once. */
  reconnect(): void {
    for (const link of [this.catalog, this.user, ...this.orderLinks.values()]) link.reconnectNow()
  }

  /** Every IndexedDB database this workspace wrote, for sign-out. */
  databases(): string[] {
    return [this.catalog, this.user, ...this.orderLinks.values()].map((link) => localName(link.room))
  }

  override destroy(): void {
    this.destroyed = true
    for (const timer of this.resetTimers.values()) clearTimeout(timer)
    this.catalog.doc.getMap('catalog').unobserve(this.followStore)
    this.user.doc.getMap('profile').unobserve(this.followStore)
    for (const link of this.orderLinks.values()) link.destroy()
    this.orderLinks.clear()
    this.catalog.destroy()
    this.user.destroy()
    super.destroy()
  }

  private readonly followStore = (): void => {
    if (this.destroyed) return
    const catalog = this.catalogValue
    const next = homeStore(this.homeFront, catalog?.fronts ?? [], this.deps.secure)
    if (next.wsUrl === this.store.wsUrl && next.front === this.store.front && next.blocked === this.store.blocked) return
    this.store = next
    for (const link of [this.catalog, this.user, ...this.orderLinks.values()]) link.setStore(this.storeUrlFor(link))
    this.changed()
  }

  /**
   * The lab node a document syncs with. An order only until the relay has received it: the store is
   * there to take orders while the relay is out of reach, and an order with the relay's receipt
   * (and the lab's progress) carries maps a lab node does not accept from a customer.
   */
  private storeUrlFor(link: DocLink): string | null {
    if (parseRoom(link.room)?.kind === 'order' && link.doc.getMap('receipt').size > 0) return null
    return this.store.wsUrl
  }

  private watch(link: DocLink): DocLink {
    link.on('change', () => this.changed())
    link.on('closed', (event) => { if (event.code === Close.Unauthorized.code) this.emit('unauthorized', []) })
    return link
  }

  /** Many documents change at once while syncing: one notification per task. */
  private changed(): void {
    if (this.changeQueued || this.destroyed) return
    this.changeQueued = true
    queueMicrotask(() => {
      this.changeQueued = false
      if (!this.destroyed) this.emit('change', [])
    })
  }

  private addOrder(doc: Y.Doc): void {
    const room = parseRoom(doc.guid)
    if (room?.kind !== 'order' || this.orderLinks.has(room.orderId)) return
    this.linkOrder(room.orderId, doc)
    this.changed()
  }

  /** Keeps an order document on this device and syncs it. */
  private linkOrder(orderId: string, doc: Y.Doc): DocLink {
    const link = this.watch(new DocLink(doc.guid, doc, { wsUrl: this.deps.wsUrl, token: this.deps.token }))
    this.orderLinks.set(orderId, link)
    // Finished orders stay on the device but need no connection once the relay has everything.
    link.on('change', () => {
      link.setStore(this.storeUrlFor(link))
      if (link.synced && link.relayHasAll && isSettled(readOrder(orderId, doc), this.deps.now())) link.disconnect()
    })
    link.on('refused', (reason) => this.refusedOrder(orderId, link, reason))
    void link.loaded.then(() => {
      if (this.destroyed || link.destroyed) return
      link.setStore(this.storeUrlFor(link))
      if (!(link.relayHasAll && link.relayHasAny && isSettled(readOrder(orderId, doc), this.deps.now()))) link.connect()
    })
    return link
  }

  /**
   * The relay refused a write of this device to an order. Yjs numbers each client's changes and
   * every later change of this device's client builds on the refused one, so the relay would refuse
   * them all, a cancel too. Nothing this device's client wrote to the order from the refused change
   * on can ever reach the relay, so nothing that could have been kept is lost by starting over: the
   * copy on this device goes (its IndexedDB database too) and the order comes back from the relay
   * into a new Y.Doc, with a new client id. The device then holds exactly what the relay holds and
   * later changes go through. The customer is told what was refused.
   */
  private refusedOrder(orderId: string, link: DocLink, reason: string): void {
    if (CONSEQUENCE.test(reason) || this.destroyed || this.orderLinks.get(orderId) !== link) return
    this.recordRefusal(link.room, reason)
    const wait = (this.resets.get(orderId) ?? -Infinity) + RESET_EVERY_MS - Date.now()
    if (wait <= 0) return this.resetOrder(orderId, link)
    // Reset again so soon: something brought the refused changes back (another tab, the store's
    // copy). Once the pause is over, if this copy is still the one in use.
    if (this.resetTimers.has(orderId)) return
    this.resetTimers.set(orderId, setTimeout(() => {
      this.resetTimers.delete(orderId)
      if (this.orderLinks.get(orderId) === link) this.resetOrder(orderId, link)
    }, wait))
  }

  private resetOrder(orderId: string, link: DocLink): void {
    this.resets.set(orderId, Date.now())
    void this.replaceOrder(orderId, link)
  }

  private async replaceOrder(orderId: string, link: DocLink): Promise<void> {
    await link.clear()
    if (this.destroyed || this.orderLinks.get(orderId) !== link) return
    // A standalone document, not the user document's subdocument: that one holds the refused
    // changes in memory. After a reload the subdocument loads the fresh copy from IndexedDB.
    this.linkOrder(orderId, new Y.Doc({ guid: link.room }))
    this.changed()
  }

  private recordRefusal(room: string, reason: string): void {
    // Bounded: it is the server's text, shown as it is.
    const refusal: Refusal = { reason: reason.replace(/^write refused:\s*/, '').slice(0, MAX_REASON), at: new Date().toISOString() }
    try {
      localStorage.setItem(REFUSAL_MARK + room, JSON.stringify(refusal))
    } catch { /* storage full: the notice is lost, the reset still happens */ }
    this.changed()
  }

  /** A draft left the customer's list (here or on another device): its copy on this device goes too. */
  private dropOrder(doc: Y.Doc): void {
    const room = parseRoom(doc.guid)
    if (room?.kind !== 'order') return
    this.orderLinks.get(room.orderId)?.forget()
    this.orderLinks.delete(room.orderId)
    localStorage.removeItem(REFUSAL_MARK + doc.guid)
    this.changed()
  }
}
