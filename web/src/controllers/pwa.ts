// The service worker's side of the app: registers it, and says when a new version is waiting so
// the customer can choose the moment to reload (vite-plugin-pwa's "prompt" mode).
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { registerSW } from 'virtual:pwa-register'

export class PwaController implements ReactiveController {
  needRefresh = false
  offlineReady = false
  private updateSW: ((reload?: boolean) => Promise<void>) | null = null

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this)
  }

  hostConnected(): void {
    if (this.updateSW || !('serviceWorker' in navigator)) return
    this.updateSW = registerSW({
      onNeedRefresh: () => { this.needRefresh = true; this.host.requestUpdate() },
      onOfflineReady: () => { this.offlineReady = true; this.host.requestUpdate() },
    })
  }

  /** Activates the waiting version and reloads into it. */
  update(): void {
    void this.updateSW?.(true)
  }

  dismiss(): void {
    this.needRefresh = false
    this.offlineReady = false
    this.host.requestUpdate()
  }
}
