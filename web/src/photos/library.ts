// The customer's photos as the app shows them: adding picked files (stored on the device, noted in
// the user document, queued for upload) and thumbnails as object URLs, from the device or, for
// photos added on another device, made once from the relay's copy.
import { ObservableV2 } from 'lib0/observable'
import type { Workspace } from '../sync/workspace.ts'
import { deletePhoto, getPhoto, putPhoto } from './photo-store.ts'
import { preparePhoto, thumbnailFromRelay, UnreadablePhotoError } from './prepare.ts'
import type { UploadQueue } from './upload-queue.ts'

export interface AddResult { added: string[]; problems: string[] }

export class PhotoLibrary extends ObservableV2<{ change: () => void }> {
  private readonly urls = new Map<string, string>()
  private readonly loading = new Set<string>()

  constructor(
    private readonly workspace: Workspace,
    private readonly uploads: UploadQueue,
    private readonly relay: { httpUrl: string; token: string },
  ) {
    super()
    uploads.on('uploaded', (sha256) => {
      const info = workspace.photos().get(sha256)
      if (info) workspace.notePhoto(sha256, { ...info, uploaded: true })
    })
  }

  /** Stores each file on the device and queues it; the hashes come back in the order given. */
  async add(files: File[]): Promise<AddResult> {
    const added: string[] = []
    const problems: string[] = []
    for (const file of files) {
      try {
        const photo = await putPhoto(await preparePhoto(file))
        this.workspace.notePhoto(photo.sha256, { name: photo.name, width: photo.width, height: photo.height, uploaded: photo.uploaded })
        this.uploads.enqueue(photo)
        added.push(photo.sha256)
      } catch (error) {
        problems.push(error instanceof UnreadablePhotoError ? error.message : `${file.name} could not be stored on this device.`)
      }
    }
    return { added, problems }
  }

  /**
   * No order uses the photo any more (the caller checked): its upload stops and it leaves the
   * device and the customer's photo list.
   */
  async forget(sha256: string): Promise<void> {
    this.uploads.cancel(sha256)
    this.workspace.forgetPhoto(sha256)
    const url = this.urls.get(sha256)
    if (url) URL.revokeObjectURL(url)
    this.urls.delete(sha256)
    await deletePhoto(sha256)
    this.emit('change', [])
  }

  /** An object URL of the thumbnail, or undefined while it loads (a change event follows). */
  thumbUrl(sha256: string): string | undefined {
    const url = this.urls.get(sha256)
    if (url || this.loading.has(sha256)) return url
    this.loading.add(sha256)
    void this.loadThumb(sha256).finally(() => this.loading.delete(sha256))
    return undefined
  }

  override destroy(): void {
    for (const url of this.urls.values()) URL.revokeObjectURL(url)
    this.urls.clear()
    super.destroy()
  }

  private async loadThumb(sha256: string): Promise<void> {
    let thumb = (await getPhoto(sha256))?.thumb ?? null
    if (!thumb && navigator.onLine) {
      thumb = await thumbnailFromRelay(`${this.relay.httpUrl}/api/images/${sha256}`, this.relay.token).catch(() => null)
      const info = this.workspace.photos().get(sha256)
      if (thumb && info) {
        await putPhoto({
          sha256, name: info.name, type: 'image/jpeg', bytes: 0, width: info.width, height: info.height,
          thumb, original: null, uploaded: true, addedAt: new Date().toISOString(),
        })
      }
    }
    if (!thumb) return
    this.urls.set(sha256, URL.createObjectURL(thumb))
    this.emit('change', [])
  }
}
