// Photos by content hash: PUT /api/images/<sha256>, resumable uploads over tus at /api/uploads/,
// GET with SPEC's rights. (Being written: this placeholder answers 501.)
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DB } from '../store/db.ts'
import type { Authenticator } from '../auth.ts'
import { HttpError } from '../../shared/errors.ts'

export interface ImagesDeps {
  db: DB
  dataDir: string
  limits: { imageBytes: number }
  auth: Authenticator
  now: () => number
  /** Whether a lab may read an image: one of its assigned orders uses it. */
  labMayRead?: (labId: string, sha256: string) => boolean
}

export interface Images {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>
  close(): Promise<void>
}

export function createImages(deps: ImagesDeps): Images {
  void deps
  return {
    async handle() { throw new HttpError(501, 'image upload is not built yet') },
    async close() {},
  }
}
