// The upload queue as a host sees it: per-photo progress and status, re-rendered as bytes go out.
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import type { UploadQueue, UploadState, UploadSummary } from '../photos/upload-queue.ts'

export class UploadQueueController implements ReactiveController {
  private queue: UploadQueue | null = null
  private frame = 0
  // Progress events come per chunk; one render per animation frame is plenty.
  private readonly onChange = () => {
    if (this.frame) return
    this.frame = requestAnimationFrame(() => {
      this.frame = 0
      this.host.requestUpdate()
    })
  }

  constructor(private readonly host: ReactiveControllerHost, private readonly select: () => UploadQueue | null | undefined) {
    host.addController(this)
  }

  state(sha256: string): UploadState | undefined {
    return this.queue?.state(sha256)
  }

  get pending(): number {
    return this.queue?.pending ?? 0
  }

  summary(photos: Iterable<string>): UploadSummary {
    return this.queue?.summary(photos) ?? { count: 0, done: 0, sent: 0, total: 0 }
  }

  retry(sha256: string): void {
    this.queue?.retry(sha256)
  }

  hostConnected(): void { this.follow() }
  hostUpdate(): void { this.follow() }
  hostDisconnected(): void {
    this.attach(null)
    if (this.frame) cancelAnimationFrame(this.frame)
    this.frame = 0
  }

  private follow(): void {
    const queue = this.select() ?? null
    if (queue !== this.queue) this.attach(queue)
  }

  private attach(queue: UploadQueue | null): void {
    this.queue?.off('change', this.onChange)
    this.queue = queue
    queue?.on('change', this.onChange)
  }
}
