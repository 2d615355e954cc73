/**
 * Puts a backup back, in an order that can never make things worse: decompress
 * it (a pages backup: reassemble it from its map and packs) beside the target
 * (same folder, so the final rename is atomic), proving it by its SHA-256
 * (prepare.ts), keep a pre-restore copy of the current database, make sure
 * nobody is using it, then swap the files with one rename. A kill -9 at any
 * point leaves the target either wholly the old database or wholly the new one.
 */
import { backupDatabase } from "../backup/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { describeError, OperationError, type ProgressFn, SqlbakError, storedPages } from "../model/index.ts";
import { appendOpLog, databaseFolder } from "../store/index.ts";
import { acquireLock, commitRename, pausePoint, removeQuietly, tempPathFor } from "../system/index.ts";
import { removeImage } from "../verify/index.ts";
import { keepReplaced, removeUnswappedKept, rotateKeptCopies } from "./kept.ts";
import type { ExclusiveHold } from "./live-db.ts";
import { type RestoreCheck, type RestorePlan, undoCommand, undoKeptCommand } from "./plan.ts";
import { prepareCopy, type RestoredPermissions, removeStaleTemps } from "./prepare.ts";
import { checkInUse, lockTarget, removeSidecars } from "./swap.ts";

export interface RestoreResult {
  id: string;
  database: string;
  target: string;
  /** The pre-restore backup taken of the replaced file, when it was not kept itself (preRestoreFile). */
  preRestoreId: string | null;
  /** The replaced file itself, kept beside the target as the pre-restore safety copy (kept.ts). */
  preRestoreFile: string | null;
  undo: string | null;
  /** Set when --force replaced a database that was in use. */
  forcedPastUsers: string | null;
  removedFiles: string[];
  /** How the copy was proven before the swap. */
  check: RestoreCheck | "kept";
  /** Mode and owner the restored file got, and where they came from. */
  permissions: RestoredPermissions | null;
  durationMs: number;
  /** `restore` events that could not be delivered (each also in the op log). */
  notifyWarnings: string[];
}

/** What a restore tells as it goes: each step, and the progress of the long ones (bytes). */
export interface RestoreEvents {
  onStep?: (message: string) => void;
  onProgress?: ProgressFn;
}

/**
 * Carries out a plan (see the module doc for the order) under the database's
 * backup-folder lock. Throws a SqlbakError for every refusal, with the target
 * untouched; logs the outcome to the operation log either way.
 */
export async function runRestore(
  config: ResolvedConfig,
  plan: RestorePlan,
  events: RestoreEvents = {},
): Promise<RestoreResult> {
  const started = Date.now();
  const result: RestoreResult = {
    id: plan.backup.manifest.id,
    database: plan.database,
    target: plan.target,
    preRestoreId: null,
    preRestoreFile: null,
    undo: null,
    forcedPastUsers: null,
    removedFiles: [],
    check: plan.check,
    permissions: null,
    durationMs: 0,
    notifyWarnings: [],
  };
  try {
    await restoreLocked(config, plan, result, events);
    return result;
  } catch (err) {
    appendOpLog(config.logFile, {
      op: "restore",
      database: plan.database,
      id: result.id,
      ok: false,
      target: plan.target,
      pre_restore_id: result.preRestoreId ?? undefined,
      pre_restore_file: result.preRestoreFile ?? undefined,
      error: describeError(err),
    });
    if (err instanceof SqlbakError) throw err;
    throw new OperationError(`restore of ${result.id} to ${plan.target} failed: ${describeError(err)}`, { cause: err });
  } finally {
    result.durationMs = Date.now() - started;
  }
}

/**
 * Holds the target exclusively and gives it its kept-copy name (kept.ts); returns the hold, or null (nothing
 * held, no copy) when someone came in the meantime or the folder refuses the link: a backup is taken then.
 */
function keepUnderHold(plan: RestorePlan, result: RestoreResult): ExclusiveHold | null {
  const { hold, forcedPastUsers } = lockTarget(plan.target, plan.force);
  if (!hold || forcedPastUsers) {
    hold?.release();
    return null;
  }
  const kept = keepReplaced(plan.target);
  if (!kept) {
    hold.release();
    return null;
  }
  result.preRestoreFile = kept;
  result.undo = undoKeptCommand(plan, kept);
  pausePoint("restore:pre-restore-taken");
  return hold;
}

async function takePreRestoreBackup(
  config: ResolvedConfig,
  plan: RestorePlan,
  result: RestoreResult,
  { onStep = () => {}, onProgress }: RestoreEvents,
): Promise<void> {
  onStep(`taking a pre-restore backup of ${plan.target}`);
  const pre = await backupDatabase(config, plan.preRestore!, {
    kind: "pre-restore",
    tags: [],
    dryRun: false,
    lockHeld: plan.preRestore!.name === plan.database,
    onProgress: onProgress && ((db, done, total) => onProgress(`${db}: pre-restore backup`, done, total)),
  });
  if (!pre.ok)
    throw new OperationError(
      `could not take the pre-restore backup of ${plan.target}, so nothing was changed: ${pre.error}`,
    );
  result.preRestoreId = pre.id!;
  result.undo = undoCommand(plan, pre.id!);
  pausePoint("restore:pre-restore-taken");
}

async function restoreLocked(
  config: ResolvedConfig,
  plan: RestorePlan,
  result: RestoreResult,
  events: RestoreEvents,
): Promise<void> {
  const { onStep = () => {}, onProgress } = events;
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
    result.permissions = await prepareCopy(plan, temp, plan.check, onProgress);
    pausePoint("restore:copy-ready");
    let hold: ExclusiveHold | null = null;
    let swapped = false;
    try {
      if (plan.preRestore) {
        result.forcedPastUsers = checkInUse(plan.target, plan.force);
        result.removedFiles.push(...removeUnswappedKept(plan.target));
        // Nobody on it: keep the replaced file itself, under the hold (its WAL checkpointed into it).
        if (!result.forcedPastUsers && plan.preRestoreMode === "keep") hold = keepUnderHold(plan, result);
        if (!result.preRestoreFile) await takePreRestoreBackup(config, plan, result, events);
      }
      if (plan.targetExists && !hold) {
        const locked = lockTarget(plan.target, plan.force);
        hold = locked.hold;
        result.forcedPastUsers ??= locked.forcedPastUsers;
      }
      pausePoint("restore:target-held");
      result.removedFiles.push(...removeSidecars(plan.target));
      commitRename(temp, plan.target);
      swapped = true;
      pausePoint("restore:renamed");
    } finally {
      hold?.release();
      // Not swapped: the kept name is still the live database's second name, no copy.
      if (!swapped && result.preRestoreFile) {
        removeQuietly(result.preRestoreFile);
        result.preRestoreFile = null;
        result.undo = null;
      }
    }
    if (result.preRestoreFile) {
      const policy = plan.preRestore!.retention ?? config.retention;
      result.removedFiles.push(...rotateKeptCopies(plan.target, policy.keepPreRestore, [result.preRestoreFile]));
    }
    appendOpLog(config.logFile, {
      op: "restore",
      database: plan.database,
      id: result.id,
      ok: true,
      target: plan.target,
      pre_restore_id: result.preRestoreId ?? undefined,
      pre_restore_file: result.preRestoreFile ?? undefined,
      duration_ms: Date.now() - started,
    });
  } finally {
    removeImage(temp);
    lock.release();
  }
}
