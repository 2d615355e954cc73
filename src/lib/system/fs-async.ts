/**
 * The durable writes of fs.ts with their fsyncs on the thread pool: the same
 * steps in the same order (temporary name, write, fsync, rename, fsync the
 * folder), but the main thread is free while the disk works, so the other
 * databases of a `backup --parallel` run go on meanwhile instead of waiting
 * for each fsync in turn (docs/performance.md).
 */
import { closeSync, fchmodSync, fsync, openSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { FILE_MODE, removeQuietly, tempPathFor } from "./fs.ts";

/** fsync(2) of `fd` on the thread pool. */
export function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/** fsync a folder (on the thread pool) so a rename or unlink inside it survives a power cut. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const fd = openSync(dir, "r");
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Renames into place and makes the rename durable. */
export async function commitRenameAsync(tempPath: string, finalPath: string): Promise<void> {
  renameSync(tempPath, finalPath);
  await fsyncDirAsync(dirname(finalPath));
}

/** writeFileAtomic (fs.ts), its fsyncs on the thread pool: durable under `path` once it resolves. */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array, mode = FILE_MODE): Promise<void> {
  const temp = tempPathFor(path);
  const fd = openSync(temp, "wx", mode);
  try {
    if (mode !== FILE_MODE) fchmodSync(fd, mode);
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    await fsyncAsync(fd);
  } catch (err) {
    closeSync(fd);
    removeQuietly(temp);
    throw err;
  }
  closeSync(fd);
  try {
    await commitRenameAsync(temp, path);
  } catch (err) {
    removeQuietly(temp);
    throw err;
  }
}
