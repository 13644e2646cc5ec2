// A signed-in customer's documents on this device: the catalog, their user document and one
// subdocument per order (SPEC.md: `orders` maps orderId → Y.Doc with guid `order/<id>`), each kept
// in IndexedDB and synced through its own provider on the room named by its guid — and, when the
// customer registered a home store whose lab node serves the shop's LAN, through a second provider
// to that lab node.
import * as Y from 'yjs'
import { ObservableV2 } from 'lib0/observable'
import { parseRoom, roomName, type Catalog, type OrderItem } from '../../../shared/schema.ts'
import { isSettled, readOrder, writeDraft, type OrderView } from '../orders/order-doc.ts'
import { DocLink, localName, type LinkStatus } from './doc-link.ts'
import { homeStore, type HomeStore } from './home-store.ts'

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

  constructor(private readonly deps: WorkspaceDeps) {
    super()
    const relay = { wsUrl: deps.wsUrl, token: deps.token }
    this.catalog = this.watch(new DocLink(roomName.catalog(), new Y.Doc(), relay))
    this.user = this.watch(new DocLink(roomName.user(deps.userId), new Y.Doc(), relay))
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
    link.on('closed', (event) => { if (event.code === 4401) this.emit('unauthorized', []) })
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
    const link = this.watch(new DocLink(doc.guid, doc, { wsUrl: this.deps.wsUrl, token: this.deps.token }))
    this.orderLinks.set(room.orderId, link)
    // Finished orders stay on the device but need no connection once the relay has everything.
    link.on('change', () => {
      link.setStore(this.storeUrlFor(link))
      if (link.synced && link.relayHasAll && isSettled(readOrder(room.orderId, doc))) link.disconnect()
    })
    void link.loaded.then(() => {
      if (this.destroyed) return
      link.setStore(this.storeUrlFor(link))
      if (!(link.relayHasAll && link.relayHasAny && isSettled(readOrder(room.orderId, doc)))) link.connect()
    })
    this.changed()
  }

  /** A draft left the customer's list (here or on another device): its copy on this device goes too. */
  private dropOrder(doc: Y.Doc): void {
    const room = parseRoom(doc.guid)
    if (room?.kind !== 'order') return
    this.orderLinks.get(room.orderId)?.forget()
    this.orderLinks.delete(room.orderId)
    this.changed()
  }
}
