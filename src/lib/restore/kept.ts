/**
 * The pre-restore safety copy without a second backup: the replaced file
 * itself, kept beside the target as `<name>.pre-restore-<UTC time>` (same
 * folder, so it is one hard link and one rename, no byte copied), with its own
 * mode and owner. Only made while restore holds the database exclusively with
 * no other process on it (live-db.ts): its WAL then is checkpointed into it,
 * so the file alone is the whole state. Where the folder refuses hard links
 * the caller takes a pre-restore backup instead. See docs/restore.md.
 */
import { linkSync, statSync } from "node:fs";
import { KEPT_INFIX, keptStamp, listKeptCopies } from "../store/index.ts";
import { removeQuietly } from "../system/index.ts";

export { listKeptCopies, rotateKeptCopies } from "../store/index.ts";

/**
 * Gives the file at `target` a second name beside it, the kept copy, and
 * returns that name; null when the folder does not allow it (no hard links
 * there, or the name is taken). The caller then renames the restored copy
 * over `target`, which leaves the old file with the kept name only.
 */
export function keepReplaced(target: string, now: Date = new Date()): string | null {
  const kept = `${target}${KEPT_INFIX}${keptStamp(now)}`;
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
