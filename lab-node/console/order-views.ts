// The waiting orders as the console shows them: each one's document opened at the relay (the lab
// may read every order assigned to it) and kept open while it waits, so number, items and
// progress stay live; closed when the order leaves the queue.
import type * as Y from 'yjs'
import { readReceipt, type Catalog, type OrderItem } from '../../shared/schema.ts'
import { readOrderSpec } from '../../shared/order-spec.ts'
import type { Journal } from '../journal.ts'
import type { OpenOrder, RelayLink } from '../relay-link.ts'
import type { ConsoleItem, ConsoleOrder } from '../../shared/console-wire.ts'

/** How many waiting orders have their documents open (and are listed) at once. */
export const MAX_LISTED = 50
/** After a failed open, how long before the console asks the relay again. */
const REOPEN_AFTER_MS = 15_000

type Link = Pick<RelayLink, 'queue' | 'catalog' | 'openOrder'>

interface Entry { opening: Promise<void>; order: OpenOrder | null; problem: string | null; failedAt: number }

/** What an order's document says, for the console: null fields when it is not read yet. */
export interface OrderFacts {
  number: string | null
  user: string | null
  /** receipt.name, the customer's display name, when the relay writes one (else the console shows the account id). */
  customerName: string | null
  items: OrderItem[]
  progress: { status: string | null; reason: string | null; jobs: Record<string, { state?: string; reason?: string }> }
  problem: string | null
}

export class OrderViews {
  private readonly open = new Map<string, Entry>()
  /** Order numbers seen, for history rows of orders no longer open. */
  readonly numbers = new Map<string, string>()
  private closed = false

  constructor(private readonly link: Link, private readonly journal: Pick<Journal, 'orderState' | 'item'>, private readonly now: () => number = Date.now) {}

  /** Opens the documents of `orders` not open yet and closes those of orders no longer listed; waits at most `waitMs` for new ones. */
  async follow(orders: string[], waitMs: number): Promise<void> {
    const wanted = new Set(orders)
    for (const [id, entry] of this.open) if (!wanted.has(id)) { entry.order?.close(); this.open.delete(id) }
    const pending: Promise<void>[] = []
    for (const id of orders) {
      const entry = this.open.get(id)
      if (entry && !(entry.problem && this.now() - entry.failedAt > REOPEN_AFTER_MS)) { if (!entry.order && !entry.problem) pending.push(entry.opening); continue }
      pending.push(this.start(id))
    }
    if (pending.length) await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, waitMs).unref())])
  }

  /** What the order's document says (opened on demand for an order not listed, then closed). */
  async read(id: string, timeoutMs = 10_000): Promise<OrderFacts & { doc: Y.Doc | null }> {
    const entry = this.open.get(id)
    if (entry?.order) return { ...this.facts(id), doc: entry.order.doc }
    const order = await this.link.openOrder(id, timeoutMs)
    try {
      return { ...factsOf(order.doc, id, this.numbers), doc: null }
    } finally {
      order.close()
    }
  }

  facts(id: string): OrderFacts {
    const entry = this.open.get(id)
    if (!entry?.order) return { number: this.numbers.get(id) ?? null, user: null, customerName: null, items: [], progress: { status: null, reason: null, jobs: {} }, problem: entry?.problem ?? null }
    return factsOf(entry.order.doc, id, this.numbers)
  }

  /** The order as the console lists it. */
  view(id: string, held: boolean, printerFor: (media: string | null) => string | null): ConsoleOrder {
    const catalog = this.link.catalog()
    const queued = this.link.queue.get(id)
    const facts = this.facts(id)
    const mine = this.journal.orderState(id)
    return {
      id, number: facts.number, customer: { id: facts.user, name: facts.customerName },
      receivedAt: queued?.receivedAt ?? '', front: frontName(catalog, queued?.front ?? ''),
      state: mine?.state ?? facts.progress.status ?? 'queued',
      reason: mine?.reason ?? facts.progress.reason, held,
      items: facts.items.map((item, index) => this.item(id, item, index, catalog, printerFor)),
      problem: facts.problem,
    }
  }

  close(): void {
    this.closed = true
    for (const entry of this.open.values()) entry.order?.close()
    this.open.clear()
  }

  private item(order: string, item: OrderItem, index: number, catalog: Catalog | null, printerFor: (media: string | null) => string | null): ConsoleItem {
    const product = catalog?.products.find((p) => p.id === item.product)
    const template = item.template ?? 'plain'
    const job = this.journal.item(order, index)
    return {
      index, image: item.image, thumbnail: `/api/photos/${item.image}?w=160`,
      product: item.product, productName: product?.name ?? item.product,
      size: product ? `${product.widthMm}×${product.heightMm} mm` : 'unknown product', media: product?.media ?? null,
      copies: item.qty, template, templateName: catalog?.templates.find((t) => t.id === template)?.name ?? template,
      printer: printerFor(product?.media ?? null),
      job: job ? { state: job.state, reason: job.reason } : null,
    }
  }

  private start(id: string): Promise<void> {
    const entry: Entry = { opening: Promise.resolve(), order: null, problem: null, failedAt: 0 }
    entry.opening = this.link.openOrder(id, 10_000).then(
      (order) => {
        // Closed or no longer listed meanwhile: nobody will close it later.
        if (this.closed || this.open.get(id) !== entry) return order.close()
        entry.order = order
      },
      (error: Error) => { entry.problem = `the order's details are not available: ${error.message}`; entry.failedAt = this.now() },
    )
    this.open.set(id, entry)
    return entry.opening
  }
}

function factsOf(doc: Y.Doc, id: string, numbers: Map<string, string>): OrderFacts {
  const receipt = readReceipt(doc)
  const number = typeof receipt?.number === 'string' ? receipt.number : null
  if (number) numbers.set(id, number)
  const reading = readOrderSpec(doc, id)
  const progress = doc.getMap('progress')
  const text = (value: unknown) => (typeof value === 'string' ? value : null)
  const jobs = progress.get('jobs')
  return {
    number, user: reading.spec?.user ?? text(doc.getMap('spec').get('user')), customerName: displayName(doc.getMap('receipt').get('name')), items: reading.spec?.items ?? [],
    progress: { status: text(progress.get('status')), reason: text(progress.get('reason')), jobs: typeof jobs === 'object' && jobs !== null ? { ...(jobs as OrderFacts['progress']['jobs']) } : {} },
    problem: reading.spec ? null : reading.problems.join(' '),
  }
}

/** A display name fit to show: text, trimmed, bounded; null otherwise. */
function displayName(value: unknown): string | null {
  if (typeof value !== 'string' || !value.trim()) return null
  const name = value.trim()
  return name.length > 80 ? `${name.slice(0, 80)}…` : name
}

function frontName(catalog: Catalog | null, id: string): string {
  return catalog?.fronts.find((front) => front.id === id)?.name ?? id
}
