// Orders as the views show them. OrderController follows one order's document (spec, receipt,
// progress, in-store stamp) and the links holding it, says where it stands (orders/stage.ts) and
// turns the customer's actions into document changes; OrderListController does the same for the
// list of orders. Views render what these say and send events; they decide nothing.
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import type { Catalog, OrderItem, OrderSpec, Progress, Receipt } from '../../../shared/schema.ts'
import { frontForNewOrder, newPrints, newestFirst } from '../orders/defaults.ts'
import { receptionsOf } from '../orders/estimate.ts'
import { addItems, cancel, readInStore, removeItem, setFront, setPickupFront, submit, updateItem, type InStore, type OrderView } from '../orders/order-doc.ts'
import { heldBy, stageOf, standingOf, type Standing } from '../orders/stage.ts'
import type { DocLink } from '../sync/doc-link.ts'
import { ChangesController } from './events.ts'
import type { Services } from './session.ts'
import { UploadQueueController } from './upload-queue.ts'
import type { UploadSummary } from '../photos/upload-queue.ts'
import { YMapController } from './y-map.ts'

/** What the host knows: the services of the signed-in session, the order, the catalog, the customer. */
export interface OrderSource { services: Services | undefined; orderId: string; catalog: Catalog | null; userId: string }

export class OrderController implements ReactiveController {
  /** The order as of the host's latest update; null while it is not on this device or its spec has not arrived. */
  view: OrderView | null = null
  standing: Standing | null = null
  /** Prints whose photo has not reached the relay yet. */
  pendingUploads = 0
  private readonly spec: YMapController<Partial<OrderSpec>>
  private readonly receipt: YMapController<Receipt>
  private readonly progress: YMapController<Progress>
  private readonly instore: YMapController<InStore>
  private readonly uploads: UploadQueueController

  constructor(host: ReactiveControllerHost, private readonly source: () => OrderSource) {
    host.addController(this)
    const map = (name: string) => () => this.link?.doc.getMap(name)
    this.spec = new YMapController(host, map('spec'))
    this.receipt = new YMapController(host, map('receipt'))
    this.progress = new YMapController(host, map('progress'))
    this.instore = new YMapController(host, map('instore'))
    this.uploads = new UploadQueueController(host, () => this.source().services?.uploads)
    new ChangesController(host, () => [this.source().services?.workspace, this.source().services?.photos])
  }

  /** The order's document link; undefined while the order is not on this device. */
  get link(): DocLink | undefined {
    const { services, orderId } = this.source()
    return services?.workspace.orderLink(orderId)
  }

  /** The relay has every change: the draft is on the customer's other devices too. */
  get synced(): boolean {
    const link = this.link
    return Boolean(link?.relayHasAll && link.relayHasAny)
  }

  hostUpdate(): void {
    this.judge()
  }

  /** Photos the customer picked become prints of the draft; returns why some were not added. */
  async addPhotos(files: File[]): Promise<string[]> {
    const { services, catalog } = this.source()
    const doc = this.link?.doc
    if (!services || !doc || !catalog) return []
    const { added, problems } = await services.photos.add(files)
    // Read the prints after the wait: the defaults follow the draft's last print as it is now.
    addItems(doc, newPrints(catalog, this.spec.value?.items ?? [], added))
    return problems
  }

  updateItem(index: number, image: string, patch: Partial<Omit<OrderItem, 'image'>>): void {
    const doc = this.link?.doc
    if (doc) updateItem(doc, index, image, patch)
  }

  /** Removes the print; a photo no order prints any more stops uploading and leaves the device. */
  removeItem(index: number, image: string): void {
    const doc = this.link?.doc
    if (!doc) return
    removeItem(doc, index, image)
    this.release([image])
  }

  /** Applies one print's size, copies and frame to every print of the draft. */
  applyToAll(patch: Partial<Pick<OrderItem, 'product' | 'qty' | 'template'>>): void {
    const doc = this.link?.doc
    const items = this.view?.spec.items ?? []
    if (!doc) return
    doc.transact(() => items.forEach((item, index) => updateItem(doc, index, item.image, patch)))
  }

  setFront(front: string): void {
    const doc = this.link?.doc
    if (doc) setFront(doc, front)
  }

  setPickupFront(front: string): void {
    const doc = this.link?.doc
    if (doc) setPickupFront(doc, front)
  }

  retryUpload(sha256: string): void {
    this.uploads.retry(sha256)
  }

  /** Sends the draft if it may be sent as it stands now; says whether it was. */
  send(): boolean {
    this.judge()
    const doc = this.link?.doc
    if (!doc || !this.standing?.actions.send) return false
    submit(doc)
    return true
  }

  cancel(): void {
    const doc = this.link?.doc
    if (doc && this.standing?.actions.cancel) cancel(doc)
  }

  /** Throws the draft away; its photos that no other order prints stop uploading and leave the device. */
  discard(): void {
    const { services, orderId } = this.source()
    const images = this.view?.spec.items.map((item) => item.image) ?? []
    services?.workspace.discardDraft(orderId)
    this.release(images, orderId)
  }

  /** How far this order's photos have got, for one progress bar. */
  get uploadSummary(): UploadSummary {
    return this.uploads.summary(this.view?.spec.items.map((item) => item.image) ?? [])
  }

  private release(images: string[], except?: string): void {
    const services = this.source().services
    if (!services) return
    for (const image of new Set(images)) {
      if (!services.workspace.photoInUse(image, except)) void services.photos.forget(image)
    }
  }

  /** A new draft with the same prints and store; its id, or null if the order is not here. */
  reorder(): string | null {
    return this.source().services?.workspace.reorder(this.source().orderId) ?? null
  }

  private judge(): void {
    const { services, orderId, catalog, userId } = this.source()
    const spec = this.spec.value
    const link = this.link
    if (!services || !link || !spec?.id) {
      this.view = this.standing = null
      this.pendingUploads = 0
      return
    }
    const view: OrderView = {
      id: orderId,
      spec: { ...spec, items: Array.isArray(spec.items) ? spec.items : [] },
      receipt: this.receipt.value,
      progress: this.progress.value,
      instore: readInStore(this.instore.value),
    }
    const others = services.workspace.orders().filter((o) => o.id !== orderId)
    this.view = view
    this.standing = standingOf(view, { held: heldBy(link), catalog, history: receptionsOf(others), user: userId, now: services.workspace.now() })
    this.pendingUploads = view.spec.items.filter((item) => {
      const state = services.uploads.state(item.image)
      return state ? state.status !== 'done' : !services.workspace.photos().get(item.image)?.uploaded
    }).length
  }
}

export interface ListedOrder { view: OrderView; standing: Standing }

/**
 * The customer's orders, newest first, each with where it stands; and the start of a new one.
 * It keeps no state of its own: the host re-renders on the workspace's changes and asks again.
 */
export class OrderListController {
  constructor(host: ReactiveControllerHost, private readonly source: () => Omit<OrderSource, 'orderId'>) {
    new ChangesController(host, () => [this.source().services?.workspace, this.source().services?.photos])
  }

  /** Orders whose spec has arrived, newest first. */
  get orders(): ListedOrder[] {
    const { services, catalog, userId } = this.source()
    if (!services) return []
    const { workspace } = services
    const all = workspace.orders()
    const history = receptionsOf(all)
    return all.filter((view) => view.spec.id).sort(newestFirst).map((view) => ({
      view,
      standing: standingOf(view, { held: heldBy(workspace.orderLink(view.id)), catalog, history, user: userId, now: workspace.now() }),
    }))
  }

  /** Orders only this device has: signing out would lose them. */
  get unsent(): number {
    const workspace = this.source().services?.workspace
    return workspace?.orders().filter((view) => stageOf(view, heldBy(workspace.orderLink(view.id))) === 'device-only').length ?? 0
  }

  /** Starts a draft at the store the customer most likely wants; its id. */
  newDraft(): string | null {
    const { services, catalog } = this.source()
    if (!services) return null
    const { workspace } = services
    return workspace.createDraft([], frontForNewOrder(catalog, workspace.orders(), workspace.homeFront))
  }
}
