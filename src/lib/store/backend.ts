/**
 * The folder contract: one folder of backups, wherever it lives — backup_dir
 * itself (local-folder.ts), a `dir` destination (the same implementation), an
 * S3 prefix, a remote SFTP folder. It is a flat key space of files under one
 * root; keys are `<database>/<file name>`, the layout of backup_dir, so a
 * destination can be copied back by hand. Implementations only move bytes;
 * which files form a backup is read by one routine for every folder
 * (`listBackups`, list.ts; docs/folder-listing.md), and which files go where,
 * in what order (data first, manifest last) and how they are checked is the
 * caller's job (src/lib/destinations/sync.ts).
 *
 * What every implementation guarantees:
 * - a key is checked (`assertKey`) before it becomes a path or a request, so
 *   nothing climbs out of the root;
 * - a symlink is never followed: a `<database>` entry that is one is refused
 *   (backup_dir alone follows a symlink to a folder there, as it always has),
 *   a file that is one is not read as a backup's file;
 * - no partial file ever appears under a final key;
 * - transfers stream: no file is held whole in memory, except a manifest
 *   read by `readText`, which the listing refuses by size before reading.
 */

export interface RemoteFile {
  /** `<database>/<file name>`. */
  key: string;
  size: number;
  /** Modification time, where the folder knows it (a local folder). */
  mtimeMs?: number;
  /** The ETag (lowercase hex, no quotes), where the folder has one (S3): changes whenever the content does. */
  etag?: string;
  /**
   * A validator from a folder whose listing shows only a coarse time (SFTP's
   * `ls` to the minute, rclone's ModTime): the size-independent part that
   * changes whenever the file is rewritten. Given only for a file whose time
   * ended at least SETTLE_MS before the listing (settle.ts), so a rewrite
   * after this listing cannot fall in the same time; absent otherwise.
   */
  stamp?: string;
  /**
   * False for an entry that is not a regular file (a symlink, a folder),
   * listed so the listing can report it; folders that list only regular
   * files leave this out. Never followed.
   */
  regular?: boolean;
}

export interface Backend {
  /** `dir:/mnt/nas/backups`, `s3://bucket/prefix`, `sftp://user@host:port/path`: for messages. */
  readonly describe: string;
  /**
   * Whether the listing compares a data file's listed size with the size its
   * manifest promises (a mismatch is then a problem, not a backup). True at
   * every destination; backup_dir leaves that check to verify, which reports
   * it as a failed backup.
   */
  readonly checkSizes: boolean;
  /**
   * Present when the folder's files are read in place on this machine
   * (backup_dir): the real path of `key` (`<database>/<file>`, or `<database>`
   * for its folder), checked like every key. Listings then name files by
   * path; elsewhere they are named `<describe>/<key>` and fetched before
   * anything reads their bytes.
   */
  localPath?(key: string): string;
  /**
   * Uploads a local file as `key`, streaming (never the whole file in memory).
   * Must not leave a partial file under `key` itself when interrupted: write
   * to a temporary name and rename where the store can (dir, sftp); S3
   * multipart uploads only appear when complete.
   */
  put(localPath: string, key: string): Promise<void>;
  /** Downloads `key` to a local path, streaming; throws when it does not exist. */
  get(key: string, localPath: string): Promise<void>;
  /**
   * Reads a small file (a manifest) whole; null when it does not exist. The
   * listing calls it only for a regular file whose listed size is within
   * MAX_MANIFEST_BYTES; a local folder checks both again on the file itself.
   */
  readText(key: string): Promise<string | null>;
  /**
   * Optional: `readText` of several keys at once, each answer at its key's
   * index (a text, null when missing, or the Error it would have thrown),
   * where one request for many costs less than many (one SFTP batch).
   */
  readTexts?(keys: string[]): Promise<(string | null | Error)[]>;
  /** Size of `key`, or null when it does not exist. */
  stat(key: string): Promise<RemoteFile | null>;
  /**
   * Every file under `prefix` (`app/`, or "" for everything), in any order; a
   * folder that does not exist has none. Throws when `<database>` is a symlink
   * or a file at a destination.
   */
  list(prefix: string): Promise<RemoteFile[]>;
  /** Removes `key`; succeeds when it is already gone. */
  remove(key: string): Promise<void>;
  /** Releases connections (an SFTP session); safe to call twice. */
  close(): Promise<void>;
}
