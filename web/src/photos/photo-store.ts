// The photos on this device, in IndexedDB: the original bytes until the relay has them, and a
// small thumbnail for as long as the customer is signed in.
import * as idb from 'lib0/indexeddb'

export const PHOTO_DB = 'labsync-photos'
const STORE = 'photos'

export interface StoredPhoto {
  sha256: string
  name: string
  type: string
  bytes: number
  width: number
  height: number
  /** A JPEG a few hundred pixels across, made on the device. */
  thumb: Blob
  /** The original file; dropped once uploaded. */
  original: Blob | null
  uploaded: boolean
  addedAt: string
}

let opened: Promise<IDBDatabase> | null = null

function db(): Promise<IDBDatabase> {
  opened ??= idb.openDB(PHOTO_DB, (database) => idb.createStores(database, [[STORE, { keyPath: 'sha256' }]]))
  return opened
}

async function store(access: 'readonly' | 'readwrite'): Promise<IDBObjectStore> {
  const [objects] = idb.transact(await db(), [STORE], access)
  return objects
}

export async function getPhoto(sha256: string): Promise<StoredPhoto | undefined> {
  return (await idb.get(await store('readonly'), sha256)) as unknown as StoredPhoto | undefined
}

/** Adds a photo; one already stored (same bytes) keeps its upload state. */
export async function putPhoto(photo: StoredPhoto): Promise<StoredPhoto> {
  const existing = await getPhoto(photo.sha256)
  if (existing && (existing.uploaded || existing.original)) return existing
  await idb.rtop((await store('readwrite')).put(photo))
  return photo
}

export async function photosToUpload(): Promise<StoredPhoto[]> {
  const all = (await idb.getAll(await store('readonly'))) as StoredPhoto[]
  return all.filter((photo) => !photo.uploaded && photo.original !== null)
}

/** The relay has the photo: keep the thumbnail, free the original's space. */
export async function markUploaded(sha256: string): Promise<void> {
  const photo = await getPhoto(sha256)
  if (!photo) return
  await idb.rtop((await store('readwrite')).put({ ...photo, uploaded: true, original: null }))
}

/** The customer removed the photo from every order: its original and thumbnail leave the device. */
export async function deletePhoto(sha256: string): Promise<void> {
  await idb.rtop((await store('readwrite')).delete(sha256))
}

/** Closes the connection so that sign-out can delete the database. */
export async function closePhotoStore(): Promise<void> {
  if (!opened) return
  const database = await opened.catch(() => null)
  opened = null
  database?.close()
}
