// The reference ImageStore: what each image is and who owns it in memory, the files in a
// directory given to it (ImageFiles, as SQLite's store keeps them). Stores made on one
// MemoryImageStorage share it, so "restarting" is a new store on the same storage and directory.
import { ImageFiles, assertSha } from '../image-files.ts'
import type { ImageMeta, ImageStore, StoredImage } from '../image-store.ts'

/** What several MemoryImageStores share. */
export class MemoryImageStorage {
  readonly images = new Map<string, StoredImage>()
  readonly owners = new Map<string, Set<string>>()
}

export class MemoryImageStore implements ImageStore {
  readonly incomingDir: string
  private readonly files: ImageFiles

  constructor(imagesDir: string, readonly storage = new MemoryImageStorage(), private readonly now: () => number = Date.now) {
    this.files = new ImageFiles(imagesDir)
    this.incomingDir = this.files.incomingDir
  }

  path(sha256: string): string {
    return this.files.path(sha256)
  }

  localPath(sha256: string): Promise<string> {
    return this.files.localPath(sha256)
  }

  incomingPath(): string {
    return this.files.incomingPath()
  }

  // Answered before the promise is returned, as SQLite's store does.
  async has(sha256: string): Promise<boolean> {
    return this.storage.images.has(sha256)
  }

  async get(sha256: string): Promise<StoredImage | null> {
    const image = this.storage.images.get(sha256)
    return image ? { ...image } : null
  }

  async isOwner(sha256: string, userId: string): Promise<boolean> {
    return this.storage.owners.get(sha256)?.has(userId) ?? false
  }

  async addOwner(sha256: string, userId: string): Promise<void> {
    this.own(sha256, userId)
  }

  private own(sha256: string, userId: string): void {
    let owners = this.storage.owners.get(sha256)
    if (!owners) this.storage.owners.set(sha256, owners = new Set())
    owners.add(userId)
  }

  adopt(file: string, sha256: string): Promise<void> {
    return this.files.adopt(file, sha256)
  }

  async record(sha256: string, meta: ImageMeta, ownerUserId: string): Promise<boolean> {
    assertSha(sha256)
    const isNew = !this.storage.images.has(sha256)
    if (isNew) {
      const { bytes, width, height, format } = meta
      this.storage.images.set(sha256, { sha256, bytes, width, height, format, createdAt: new Date(this.now()).toISOString() })
    }
    this.own(sha256, ownerUserId)
    return isNew
  }
}
