/**
 * A destination backend: a flat key space of files under one root (a folder,
 * an S3 prefix, a remote SFTP folder). Keys are `<database>/<file name>`, the
 * same relative layout as the local backup folder, so a destination can be
 * copied back by hand. Backends only move bytes; which files go where, in
 * what order (data first, manifest last) and how they are checked is the
 * caller's job (src/lib/destinations/sync.ts).
 */

export interface RemoteFile {
  /** `<database>/<file name>`. */
  key: string;
  size: number;
}

export interface Backend {
  /** `dir:/mnt/nas/backups`, `s3://bucket/prefix`, `sftp://user@host:port/path`: for messages. */
  readonly describe: string;
  /**
   * Uploads a local file as `key`, streaming (never the whole file in memory).
   * Must not leave a partial file under `key` itself when interrupted: write
   * to a temporary name and rename where the store can (dir, sftp); S3
   * multipart uploads only appear when complete.
   */
  put(localPath: string, key: string): Promise<void>;
  /** Downloads `key` to a local path, streaming; throws when it does not exist. */
  get(key: string, localPath: string): Promise<void>;
  /** Reads a small file (a manifest) whole; null when it does not exist. */
  readText(key: string): Promise<string | null>;
  /** Size of `key`, or null when it does not exist. */
  stat(key: string): Promise<RemoteFile | null>;
  /** Every file under `prefix` (e.g. `app/`), in any order. */
  list(prefix: string): Promise<RemoteFile[]>;
  /** Removes `key`; succeeds when it is already gone. */
  remove(key: string): Promise<void>;
  /** Releases connections (an SFTP session); safe to call twice. */
  close(): Promise<void>;
}
