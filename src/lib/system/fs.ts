/**
 * Durable file operations. A file becomes visible under its final name only
 * when its bytes are on disk: write to a temporary name, fsync, rename, fsync
 * the folder. Files are created 0600 and folders 0700 (backups hold user data).
 */

import { randomBytes } from "node:crypto";
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;
/** Every temporary file sqlbak writes ends with this, so partials are recognisable. */
export const TEMP_SUFFIX = ".tmp";

/** Creates a folder (and parents) with mode 0700 if missing. */
export function ensureDir(dir: string): void {
  try {
    // mkdir of an existing folder still takes its parent's lock, which waits behind other writers' metadata
    if (statSync(dir).isDirectory()) return;
  } catch {
    // missing (or unreadable): mkdir says which
  }
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const file = code === "EEXIST" || code === "ENOTDIR" ? fileInTheWay(dir) : null;
    if (file) throw new Error(`${file} is a file, not a folder`);
    throw err;
  }
}

/** The first of `dir` and its parents that exists but is not a folder (symlinks to folders are fine), or null. */
export function fileInTheWay(dir: string): string | null {
  for (let p = resolve(dir); ; p = dirname(p)) {
    try {
      return statSync(p).isDirectory() ? null : p;
    } catch {
      // missing, or under a file: look at the parent
    }
    if (dirname(p) === p) return null;
  }
}

/** fsync a folder so a rename or unlink inside it survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A hidden temporary name beside `finalPath`: `.name.<random>.tmp`. */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString("hex")}${TEMP_SUFFIX}`);
}

/** Renames into place and makes the rename durable. */
export function commitRename(tempPath: string, finalPath: string): void {
  renameSync(tempPath, finalPath);
  fsyncDir(dirname(finalPath));
}

/** Removes a file if it exists; never throws for a missing file. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or not ours to remove: either way nothing to do
  }
}

/**
 * Gives a just-created temporary `fd` the mode `mode` exactly (whatever the
 * umask) and writes all of `data` into it: the part writeFileAtomic and its
 * async twin (fs-async.ts) share before their fsync.
 */
export function fillNewFile(fd: number, data: string | Uint8Array, mode: number): void {
  if (mode !== FILE_MODE) fchmodSync(fd, mode);
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Writes `data` to `path` atomically and durably: readers see the old file or
 * the complete new one, never a mix, even after a crash. The file gets `mode`
 * exactly (0600 unless told otherwise), whatever the umask. `durable: false`
 * skips both fsyncs (file and folder): still all or nothing for readers, but a
 * crash may leave the old file or none; only for files nothing relies on
 * after a crash (the lock's holder info: no run holds a lock after one).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = FILE_MODE, durable = true): void {
  const temp = tempPathFor(path);
  const fd = openSync(temp, "wx", mode);
  try {
    fillNewFile(fd, data, mode);
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    removeQuietly(temp);
    throw err;
  }
  closeSync(fd);
  try {
    if (durable) commitRename(temp, path);
    else renameSync(temp, path);
  } catch (err) {
    removeQuietly(temp);
    throw err;
  }
}
