// The signed-in customer on this device: signing up or in (online, once), the session kept in
// localStorage, and the services that live as long as it (documents, uploads, photos). Signing out
// removes everything the app stored on the device.
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { AccountError, signIn, signOut, signUp, type Session } from '../session/api.ts'
import { isSessionChange, loadSession, saveSession, wipeDevice } from '../session/device.ts'
import { closePhotoStore } from '../photos/photo-store.ts'
import { PhotoLibrary } from '../photos/library.ts'
import { UploadQueue } from '../photos/upload-queue.ts'
import { randomOrderId, Workspace } from '../sync/workspace.ts'

export interface Services {
  workspace: Workspace
  uploads: UploadQueue
  photos: PhotoLibrary
}

export interface Relay { httpUrl: string; wsUrl: string }

export class SessionController implements ReactiveController {
  session: Session | null = null
  services: Services | null = null
  busy = false
  error = ''
  /** The relay no longer honours the token: work goes on locally until the customer signs in again. */
  expired = false
  private stopOnlineWatch: (() => void) | null = null

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly relay: Relay,
    private readonly now: () => Date = () => new Date(),
  ) {
    host.addController(this)
  }

  hostConnected(): void {
    addEventListener('storage', this.onStorage)
    this.session = loadSession()
    if (this.session) this.start(this.session)
  }

  hostDisconnected(): void {
    removeEventListener('storage', this.onStorage)
    this.stop()
  }

  async signUp(input: { email: string; password: string; name: string }): Promise<void> {
    await this.authenticate(() => signUp(this.relay.httpUrl, input))
  }

  async signIn(input: { email: string; password: string }): Promise<void> {
    await this.authenticate(() => signIn(this.relay.httpUrl, input))
  }

  async signOut(): Promise<void> {
    const session = this.session
    if (!session) return
    this.busy = true
    this.host.requestUpdate()
    const databases = this.services?.workspace.databases() ?? []
    this.stop()
    await closePhotoStore()
    await Promise.all([signOut(this.relay.httpUrl, session.token), wipeDevice(databases)])
    this.session = null
    this.busy = false
    this.expired = false
    this.host.requestUpdate()
  }

  private async authenticate(call: () => Promise<Session>): Promise<void> {
    this.busy = true
    this.error = ''
    this.host.requestUpdate()
    try {
      const session = await call()
      const previous = this.session
      // Someone else on this device: the previous customer's data must not mix with theirs.
      if (previous && previous.userId !== session.userId) {
        const databases = this.services?.workspace.databases() ?? []
        this.stop()
        await closePhotoStore()
        await wipeDevice(databases)
      }
      this.stop()
      saveSession(session)
      this.session = session
      this.expired = false
      this.start(session)
    } catch (error) {
      this.error = error instanceof AccountError ? error.message : 'Something went wrong; please try again.'
    } finally {
      this.busy = false
      this.host.requestUpdate()
    }
  }

  private start(session: Session): void {
    const workspace = new Workspace({
      userId: session.userId, token: session.token, httpUrl: this.relay.httpUrl, wsUrl: this.relay.wsUrl,
      secure: location.protocol === 'https:', now: this.now, newOrderId: randomOrderId,
    })
    const uploads = new UploadQueue({
      target: () => workspace.uploadTarget(), token: session.token, userId: session.userId, isOnline: () => navigator.onLine,
      chunkBytes: chunkBytesSetting(),
    })
    const photos = new PhotoLibrary(workspace, uploads, { httpUrl: this.relay.httpUrl, token: session.token })
    const onUnauthorized = () => {
      this.expired = true
      this.host.requestUpdate()
    }
    workspace.on('unauthorized', onUnauthorized)
    uploads.on('unauthorized', onUnauthorized)
    // The relay went away while the store's lab node is there (or the other way round): photos
    // waiting out a backoff go now, to whichever is reachable.
    let via = workspace.uploadTarget().via
    workspace.on('change', () => {
      const next = workspace.uploadTarget().via
      if (next !== via) {
        via = next
        uploads.wentOnline()
      }
    })
    const onOnline = () => {
      workspace.reconnect()
      uploads.wentOnline()
    }
    const onOffline = () => uploads.wentOffline()
    addEventListener('online', onOnline)
    addEventListener('offline', onOffline)
    this.stopOnlineWatch = () => {
      removeEventListener('online', onOnline)
      removeEventListener('offline', onOffline)
    }
    this.services = { workspace, uploads, photos }
    void uploads.start()
  }

  private stop(): void {
    this.stopOnlineWatch?.()
    this.stopOnlineWatch = null
    if (!this.services) return
    this.services.photos.destroy()
    this.services.uploads.destroy()
    this.services.workspace.destroy()
    this.services = null
  }

  /** Another tab signed out (or in as someone else): follow it. */
  private readonly onStorage = (event: StorageEvent) => {
    if (!isSessionChange(event)) return
    const stored = loadSession()
    if (stored?.token === this.session?.token) return
    this.stop()
    this.session = stored
    if (stored) this.start(stored)
    this.host.requestUpdate()
  }
}

/**
 * The upload chunk size: 1 MiB, or what `localStorage['labsync.upload-chunk-bytes']` says (tests
 * use small chunks to cut an upload half-way; a slow network might want them too).
 */
function chunkBytesSetting(): number {
  const value = Number(localStorage.getItem('labsync.upload-chunk-bytes'))
  return Number.isSafeInteger(value) && value >= 16 * 1024 ? value : 1024 * 1024
}
