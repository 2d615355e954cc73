/**
 * Private folders under the system temp dir where verify checks an
 * unencrypted backup when backup_dir is full. They are removed when the check
 * ends; a killed verify (kill -9, power cut) leaves one behind, holding a whole
 * decompressed database, so each verify first removes leftovers of its own user
 * that nothing has touched for a day (the rule for `.sqlbak-fetch-*` folders).
 */
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STALE_STAGING_AGE_MS } from "../store/index.ts";

/** Scratch folders start with this; mkdtemp adds six characters. */
export const VERIFY_SCRATCH_PREFIX = "sqlbak-verify-";
/** Exactly what mkdtemp(VERIFY_SCRATCH_PREFIX) creates: nothing else is ever swept. */
const SCRATCH_RE = /^sqlbak-verify-[A-Za-z0-9]{6}$/;

/**
 * Milliseconds since anything changed in `dir`: the newest mtime of the folder
 * and its entries (a check still writing its copy keeps the copy's mtime fresh).
 */
function idleMs(dir: string, nowMs: number): number {
  let newest = lstatSync(dir).mtimeMs;
  for (const name of readdirSync(dir)) {
    try {
      newest = Math.max(newest, lstatSync(join(dir, name)).mtimeMs);
    } catch {
      // removed meanwhile: the folder is in use, and its own mtime just changed
      return 0;
    }
  }
  return nowMs - newest;
}

/**
 * Removes scratch folders under `tempDir` (default: the system temp dir) that
 * are real folders (never a symlink), owned by the running user, and idle for
 * a day or more; returns their paths. Failures are left for the next run.
 */
export function sweepStaleVerifyScratch(nowMs: number, tempDir: string = tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(tempDir);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    if (!SCRATCH_RE.test(name)) continue;
    const path = join(tempDir, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      if (idleMs(path, nowMs) < STALE_STAGING_AGE_MS) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // vanished, unreadable or busy: left for the next run
    }
  }
  return removed;
}
