/**
 * Puts a backup back, in an order that can never make things worse: decompress
 * it (a pages backup: reassemble it from its map and packs) beside the target
 * (same folder, so the final rename is atomic), proving it by its SHA-256
 * (prepare.ts), keep a pre-restore copy of the current database, make sure
 * nobody is using it, then swap the files with one rename. A kill -9 at any
 * point leaves the target either wholly the old database or wholly the new one.
 */
import { existsSync } from "node:fs";
import { backupDatabase } from "../backup/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { describeError, OperationError, SqlbakError, storedPages } from "../model/index.ts";
import { appendOpLog, databaseFolder } from "../store/index.ts";
import { acquireLock, commitRename, pausePoint, removeQuietly, tempPathFor } from "../system/index.ts";
import { removeImage } from "../verify/index.ts";
import { describeOpeners, type ExclusiveHold, findOpeners, holdExclusive } from "./live-db.ts";
import { type RestoreCheck, type RestorePlan, undoCommand } from "./plan.ts";
import { prepareCopy, type RestoredPermissions, removeStaleTemps } from "./prepare.ts";

const SIDECARS = ["-wal", "-shm", "-journal"];

export interface RestoreResult {
  id: string;
  database: string;
  target: string;
  preRestoreId: string | null;
  undo: string | null;
  /** Set when --force replaced a database that was in use. */
  forcedPastUsers: string | null;
  removedFiles: string[];
  /** How the copy was proven before the swap. */
  check: RestoreCheck;
  /** Mode and owner the restored file got, and where they came from. */
  permissions: RestoredPermissions | null;
  durationMs: number;
  /** `restore` events that could not be delivered (each also in the op log). */
  notifyWarnings: string[];
}

/** Fails fast when the target is in use (unless forced); returns who uses it for the report. */
function checkInUse(plan: RestorePlan): string | null {
  const openers = findOpeners(plan.target);
  if (openers.length === 0) return null;
  const who = describeOpeners(openers);
  if (!plan.force) throw inUseError(plan.target, who);
  return who;
}

function inUseError(target: string, who: string): OperationError {
  return new OperationError(`refusing to restore: ${target} is in use (${who})`, {
    hint:
      "stop the application using it and run again, or pass --force to replace it anyway " +
      "(the other process keeps the old, replaced file open)",
  });
}

/** Takes the exclusive hold on the live database, re-checking for users; with --force, goes on without it. */
function lockTarget(plan: RestorePlan, result: RestoreResult): ExclusiveHold | null {
  const openers = findOpeners(plan.target);
  const hold = holdExclusive(plan.target);
  if (hold && openers.length === 0) return hold;
  if (!plan.force) {
    hold?.release();
    throw inUseError(plan.target, describeOpeners(openers));
  }
  result.forcedPastUsers = describeOpeners(openers);
  return hold;
}

/** Removes the target's -wal/-shm/-journal: they belong to the database being replaced. */
function removeSidecars(target: string): string[] {
  const removed = SIDECARS.map((s) => target + s).filter((p) => existsSync(p));
  for (const p of removed) removeQuietly(p);
  return removed;
}

/**
 * Carries out a plan (see the module doc for the order) under the database's
 * backup-folder lock. Throws a SqlbakError for every refusal, with the target
 * untouched; logs the outcome to the operation log either way.
 */
export async function runRestore(
  config: ResolvedConfig,
  plan: RestorePlan,
  onStep: (msg: string) => void = () => {},
): Promise<RestoreResult> {
  const started = Date.now();
  const result: RestoreResult = {
    id: plan.backup.manifest.id,
    database: plan.database,
    target: plan.target,
    preRestoreId: null,
    undo: null,
    forcedPastUsers: null,
    removedFiles: [],
    check: plan.check,
    permissions: null,
    durationMs: 0,
    notifyWarnings: [],
  };
  try {
    await restoreLocked(config, plan, result, onStep);
    return result;
  } catch (err) {
    appendOpLog(config.logFile, {
      op: "restore",
      database: plan.database,
      id: result.id,
      ok: false,
      target: plan.target,
      pre_restore_id: result.preRestoreId ?? undefined,
      error: describeError(err),
    });
    if (err instanceof SqlbakError) throw err;
    throw new OperationError(`restore of ${result.id} to ${plan.target} failed: ${describeError(err)}`, { cause: err });
  } finally {
    result.durationMs = Date.now() - started;
  }
}

async function restoreLocked(
  config: ResolvedConfig,
  plan: RestorePlan,
  result: RestoreResult,
  onStep: (msg: string) => void,
): Promise<void> {
  const started = Date.now();
  const lock = await acquireLock(
    databaseFolder(config.backupDir, plan.database),
    { database: plan.database, command: "restore" },
    config.lockTimeoutMs,
  );
  const temp = tempPathFor(plan.target);
  try {
    result.removedFiles.push(...removeStaleTemps(plan.target));
    const how = storedPages(plan.backup.manifest) ? "reassembling" : "decompressing";
    onStep(`${how} ${result.id} beside ${plan.target}, checking it (${plan.check})`);
    result.permissions = await prepareCopy(plan, temp, plan.check);
    pausePoint("restore:copy-ready");
    if (plan.preRestore) {
      result.forcedPastUsers = checkInUse(plan);
      onStep(`taking a pre-restore backup of ${plan.target}`);
      const pre = await backupDatabase(config, plan.preRestore, {
        kind: "pre-restore",
        tags: [],
        dryRun: false,
        lockHeld: plan.preRestore.name === plan.database,
      });
      if (!pre.ok)
        throw new OperationError(
          `could not take the pre-restore backup of ${plan.target}, so nothing was changed: ${pre.error}`,
        );
      result.preRestoreId = pre.id!;
      result.undo = undoCommand(plan, pre.id!);
      pausePoint("restore:pre-restore-taken");
    }
    const hold = plan.targetExists ? lockTarget(plan, result) : null;
    try {
      pausePoint("restore:target-held");
      result.removedFiles.push(...removeSidecars(plan.target));
      commitRename(temp, plan.target);
      pausePoint("restore:renamed");
    } finally {
      hold?.release();
    }
    appendOpLog(config.logFile, {
      op: "restore",
      database: plan.database,
      id: result.id,
      ok: true,
      target: plan.target,
      pre_restore_id: result.preRestoreId ?? undefined,
      duration_ms: Date.now() - started,
    });
  } finally {
    removeImage(temp);
    lock.release();
  }
}
