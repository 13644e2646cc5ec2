// Re-renders a host when any of the sources it watches says it changed (the workspace, the photo
// library): the glue between plain observable services and Lit's update cycle.
import type { ReactiveController, ReactiveControllerHost } from 'lit'

interface ChangeSource {
  on(name: 'change', listener: () => void): unknown
  off(name: 'change', listener: () => void): unknown
}

export class ChangesController implements ReactiveController {
  private watched: ChangeSource[] = []
  private readonly onChange = () => this.host.requestUpdate()

  constructor(private readonly host: ReactiveControllerHost, private readonly sources: () => Array<ChangeSource | null | undefined>) {
    host.addController(this)
  }

  hostConnected(): void { this.follow() }
  hostUpdate(): void { this.follow() }
  hostDisconnected(): void { this.attach([]) }

  private follow(): void {
    const next = this.sources().filter((s): s is ChangeSource => Boolean(s))
    if (next.length !== this.watched.length || next.some((s, i) => s !== this.watched[i])) this.attach(next)
  }

  private attach(next: ChangeSource[]): void {
    for (const source of this.watched) source.off('change', this.onChange)
    this.watched = next
    for (const source of next) source.on('change', this.onChange)
  }
}
