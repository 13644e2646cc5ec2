// Where the cluster's ImageStore (image-store.ts) keeps photos' bytes, as a small interface with
// two places: PostgreSQL's image_bytes table (image-bytes-table.ts, the default) or a directory
// every relay mounts (image-bytes-dir.ts, --images DIR). The rows stay in PostgreSQL either way.

export interface ImageBytes {
  /** Named in ImageMissingError's message: "in PostgreSQL", "in /srv/labsync/images". */
  readonly where: string
  /**
   * The file a reader on this machine opens for the image, whether or not it is there yet.
   * Throws unless given a sha256 hex digest.
   */
  path(sha256: string): string
  /**
   * Stores a complete, verified file's bytes where every relay reads them, durably once the
   * promise resolves (a row recorded next never points at bytes another relay cannot read).
   * `file` is gone afterwards. Bytes already there are kept as they are; bytes lost since they
   * were first stored are put back (the same hash, so the same bytes).
   */
  adopt(file: string, sha256: string): Promise<void>
  /**
   * Whether path(sha256) holds the whole file, once this machine's copy is fetched if the place
   * needs one; false when the place holds no bytes of the image.
   */
  materialize(sha256: string): Promise<boolean>
}
