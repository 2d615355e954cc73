/**
 * The durable writes of fs.ts with their fsyncs on the thread pool: the same
 * steps in the same order (temporary name, write, fsync, rename, fsync the
 * folder), but the main thread is free while the disk works, so the other
 * databases of a `backup --parallel` run go on meanwhile instead of waiting
 * for each fsync in turn (docs/performance.md). The opens, creates, renames
 * and links run there too: on ext4 a create or rename waits for the journal
 * while another file's fsync commits it, and in a fleet run that blocked the
 * main thread (and so every lane) for about a third of the run.
 */
import { closeSync, fsync, link, mkdir, open, rename, statSync } from "node:fs";
import { dirname } from "node:path";
import { DIR_MODE, FILE_MODE, fileInTheWay, fillNewFile, removeQuietly, tempPathFor } from "./fs.ts";

/** open(2) on the thread pool; resolves to the descriptor. */
export function openAsync(path: string, flags: string | number, mode?: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** rename(2) on the thread pool. */
export function renameAsync(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => rename(from, to, (err) => (err ? reject(err) : resolve())));
}

/** link(2) on the thread pool. */
export function linkAsync(existing: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => link(existing, path, (err) => (err ? reject(err) : resolve())));
}

/** ensureDir (fs.ts) with its mkdir on the thread pool. */
export async function ensureDirAsync(dir: string): Promise<void> {
  try {
    if (statSync(dir).isDirectory()) return;
  } catch {
    // missing (or unreadable): mkdir says which
  }
  try {
    await new Promise<void>((resolve, reject) =>
      mkdir(dir, { recursive: true, mode: DIR_MODE }, (err) => (err ? reject(err) : resolve())),
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const file = code === "EEXIST" || code === "ENOTDIR" ? fileInTheWay(dir) : null;
    if (file) throw new Error(`${file} is a file, not a folder`);
    throw err;
  }
}

/** fsync(2) of `fd` on the thread pool. */
export function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/** fsync a folder (on the thread pool) so a rename or unlink inside it survives a power cut. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const fd = await openAsync(dir, "r");
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Renames into place and makes the rename durable. */
export async function commitRenameAsync(tempPath: string, finalPath: string): Promise<void> {
  await renameAsync(tempPath, finalPath);
  await fsyncDirAsync(dirname(finalPath));
}

/**
 * writeFileAtomic (fs.ts), its fsyncs on the thread pool: durable under `path` once it resolves.
 * `durable: false` as there: all or nothing for readers, no fsync (only the lock's holder info).
 */
export async function writeFileAtomicAsync(
  path: string,
  data: string | Uint8Array,
  mode = FILE_MODE,
  durable = true,
): Promise<void> {
  const temp = tempPathFor(path);
  const fd = await openAsync(temp, "wx", mode);
  try {
    fillNewFile(fd, data, mode);
    if (durable) await fsyncAsync(fd);
  } catch (err) {
    closeSync(fd);
    removeQuietly(temp);
    throw err;
  }
  closeSync(fd);
  try {
    if (durable) await commitRenameAsync(temp, path);
    else await renameAsync(temp, path);
  } catch (err) {
    removeQuietly(temp);
    throw err;
  }
}
