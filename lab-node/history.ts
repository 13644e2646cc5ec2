// The lab's printing history on its way to the relay: journal entries pushed into lab/<id>
// `history`; the relay stores each once and removes it from the array, and that removal is the
// acknowledgement that it is durable there (the journal then marks it acknowledged).
import type * as Y from 'yjs'
import type { HistoryEntry } from '../shared/schema.ts'
import type { Journal } from './journal.ts'
import type { RelayLink } from './relay-link.ts'

/** What the history needs from the relay: the lab document's array and whether its socket is up. */
export type HistoryLink = Pick<RelayLink, 'history' | 'connected' | 'onConnectionChange'>

export class HistoryReport {
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly link: HistoryLink,
    private readonly journal: Pick<Journal, 'unacknowledgedHistory' | 'acknowledge'>,
    private readonly log: (line: string) => void,
  ) {
    link.history.observe((event: Y.YArrayEvent<HistoryEntry>) => {
      const removed: string[] = []
      for (const item of event.changes.deleted) for (const entry of item.content.getContent() as HistoryEntry[]) removed.push(entry.id)
      if (removed.length) journal.acknowledge(removed)
    })
  }

  /** Sends what is unacknowledged every `intervalMs`, until stop(). */
  start(intervalMs: number): void {
    this.timer ??= setInterval(() => this.flush(), intervalMs)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** Pushes every unacknowledged entry not already in the array; nothing while the relay is out of reach. */
  flush(): void {
    if (!this.link.connected) return
    const present = new Set(this.link.history.toArray().map((entry) => entry.id))
    const unsent = this.journal.unacknowledgedHistory().filter((entry) => !present.has(entry.id))
    if (unsent.length === 0) return
    this.link.history.push(unsent)
    this.log(`history: sent ${unsent.length} entr${unsent.length === 1 ? 'y' : 'ies'} to the relay`)
  }

  /**
   * Resolves once the relay has acknowledged every entry in the array (removed it, having
   * stored it): true then; false after `timeoutMs`, or as soon as the relay is out of reach (at once
   * when it already is). Entries not acknowledged stay in the journal and are sent again.
   */
  acknowledged(timeoutMs: number): Promise<boolean> {
    const { history } = this.link
    const settled = () => history.length === 0
    if (settled()) return Promise.resolve(true)
    if (!this.link.connected) return Promise.resolve(false)
    return new Promise((resolve) => {
      let done = false
      const finish = (acknowledged: boolean) => {
        if (done) return
        done = true
        clearTimeout(timer)
        history.unobserve(onChange)
        stopListening()
        resolve(acknowledged)
      }
      const onChange = () => { if (settled()) finish(true) }
      const timer = setTimeout(() => finish(false), timeoutMs)
      history.observe(onChange)
      const stopListening = this.link.onConnectionChange((connected) => { if (!connected) finish(false) })
    })
  }
}
