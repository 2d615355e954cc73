/**
 * The moment of the swap: who uses the live database, the exclusive hold that
 * keeps everyone out (live-db.ts), and the sidecars that belong to the file
 * being replaced. Shared by the restore of a backup and of a kept copy.
 */
import { existsSync } from "node:fs";
import { OperationError } from "../model/index.ts";
import { removeQuietly } from "../system/index.ts";
import { describeOpeners, type ExclusiveHold, findOpeners, holdExclusive } from "./live-db.ts";

const SIDECARS = ["-wal", "-shm", "-journal"];

/** Fails fast when `target` is in use (unless forced); returns who uses it for the report. */
export function checkInUse(target: string, force: boolean): string | null {
  const openers = findOpeners(target);
  if (openers.length === 0) return null;
  const who = describeOpeners(openers);
  if (!force) throw inUseError(target, who);
  return who;
}

function inUseError(target: string, who: string): OperationError {
  return new OperationError(`refusing to restore: ${target} is in use (${who})`, {
    hint:
      "stop the application using it and run again, or pass --force to replace it anyway " +
      "(the other process keeps the old, replaced file open)",
  });
}

/**
 * Takes the exclusive hold on the live database, re-checking for users; with `force`, goes on without it
 * (`forcedPastUsers` then names them, and `hold` may be null).
 */
export function lockTarget(
  target: string,
  force: boolean,
): { hold: ExclusiveHold | null; forcedPastUsers: string | null } {
  const openers = findOpeners(target);
  const hold = holdExclusive(target);
  if (hold && openers.length === 0) return { hold, forcedPastUsers: null };
  if (!force) {
    hold?.release();
    throw inUseError(target, describeOpeners(openers));
  }
  return { hold, forcedPastUsers: describeOpeners(openers) };
}

/** Removes the target's -wal/-shm/-journal: they belong to the database being replaced. */
export function removeSidecars(target: string): string[] {
  const removed = SIDECARS.map((s) => target + s).filter((p) => existsSync(p));
  for (const p of removed) removeQuietly(p);
  return removed;
}
