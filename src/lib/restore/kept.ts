/**
 * The pre-restore safety copy without a second backup: the replaced file
 * itself, kept beside the target as `<name>.pre-restore-<UTC time>` (same
 * folder, so it is one hard link and one rename, no byte copied), with its own
 * mode and owner. Only made while restore holds the database exclusively with
 * no other process on it (live-db.ts): its WAL then is checkpointed into it,
 * so the file alone is the whole state. Where the folder refuses hard links
 * the caller takes a pre-restore backup instead. See docs/restore.md.
 */
import { linkSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsyncDir, removeQuietly } from "../system/index.ts";

const KEPT_INFIX = ".pre-restore-";
const SIDECARS = ["-wal", "-shm", "-journal"];

/** `20261203T210633123Z`: the kept copy's time, sortable as text. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:.]/g, "");
}

function keptPattern(target: string): RegExp {
  const base = basename(target).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${base}\\.pre-restore-\\d{8}T\\d{9}Z$`);
}

/** The kept copies of `target` in its folder, oldest first. */
export function listKeptCopies(target: string): string[] {
  const re = keptPattern(target);
  return readdirSync(dirname(target))
    .filter((n) => re.test(n))
    .sort()
    .map((n) => join(dirname(target), n));
}

/**
 * Gives the file at `target` a second name beside it, the kept copy, and
 * returns that name; null when the folder does not allow it (no hard links
 * there, or the name is taken). The caller then renames the restored copy
 * over `target`, which leaves the old file with the kept name only.
 */
export function keepReplaced(target: string, now: Date = new Date()): string | null {
  const kept = `${target}${KEPT_INFIX}${stamp(now)}`;
  try {
    linkSync(target, kept);
  } catch {
    return null;
  }
  return kept;
}

/**
 * Kept names that are still the target itself (same inode): a restore died
 * between giving the second name and the swap. They are no copy, so they go.
 */
export function removeUnswappedKept(target: string): string[] {
  let live: { dev: number; ino: number };
  try {
    live = statSync(target);
  } catch {
    return [];
  }
  const same = listKeptCopies(target).filter((p) => {
    const st = statSync(p);
    return st.dev === live.dev && st.ino === live.ino;
  });
  for (const p of same) removeQuietly(p);
  return same;
}

/**
 * Keeps the newest `keep` kept copies of `target` (rotated as pre-restore
 * backups are, by `keep_pre_restore`) and removes the others with their
 * -wal/-shm/-journal. Returns the removed paths.
 */
export function rotateKeptCopies(target: string, keep: number): string[] {
  const all = listKeptCopies(target);
  const old = all.slice(0, Math.max(0, all.length - keep));
  const removed: string[] = [];
  for (const p of old)
    for (const s of ["", ...SIDECARS]) {
      try {
        statSync(p + s);
      } catch {
        continue;
      }
      removeQuietly(p + s);
      removed.push(p + s);
    }
  if (removed.length > 0) fsyncDir(dirname(target));
  return removed;
}
