/**
 * `restore --file`: puts a kept copy (kept.ts) back in place of its target,
 * the undo of a restore that kept the file it replaced. The copy is the very
 * file that was live, set aside whole (checkpointed, under an exclusive
 * hold), so it is renamed back as it is: no decompression and no checksum
 * to compare. The file it replaces is kept in turn, so the undo can be undone.
 */
import { existsSync, renameSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import type { ResolvedConfig } from "../config/index.ts";
import { describeError, OperationError, SqlbakError, UsageError } from "../model/index.ts";
import { appendOpLog, databaseFolder, keptTargetOf } from "../store/index.ts";
import { acquireLock, fsyncDir, pausePoint, removeQuietly } from "../system/index.ts";
import { keepReplaced, listKeptCopies, rotateKeptCopies } from "./kept.ts";
import type { ExclusiveHold } from "./live-db.ts";
import { undoKeptCommand } from "./plan.ts";
import type { RestoreResult } from "./run.ts";
import { checkInUse, lockTarget, removeSidecars } from "./swap.ts";

export interface KeptRestoreOptions {
  /** The configured database whose folder lock the restore takes (and whose path is the target without --to). */
  database: string;
  file: string;
  to?: string;
  force: boolean;
  carry?: string[];
  cwd?: string;
}

/**
 * Renames kept copy `opts.file` over its target under the database's folder
 * lock and the exclusive hold, keeping the replaced file as a kept copy.
 * Refuses (UsageError) anything but a kept copy of that target beside it, and
 * one SQLite has written to since (a -wal or -journal of its own).
 */
export async function runKeptRestore(config: ResolvedConfig, opts: KeptRestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const configured = config.databases.find((d) => d.name === opts.database);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(opts.cwd ?? process.cwd(), p));
  if (!opts.to && !configured)
    throw new UsageError(`database "${opts.database}" is not in the config, so there is no target; give --to PATH`);
  // Symlinks resolved, as restore resolves them: the copies are beside the real file.
  const target = keptTargetOf(abs(opts.to ?? configured!.path));
  const file = abs(opts.file);
  if (!listKeptCopies(target).includes(file))
    throw new UsageError(
      `${file} is not a kept copy of ${target}`,
      `kept copies are named ${basename(target)}.pre-restore-<time> beside it`,
    );
  for (const s of ["-wal", "-journal"])
    if (existsSync(file + s) && statSync(file + s).size > 0)
      throw new UsageError(
        `${file} has a ${s} of its own: it was opened and written since it was kept`,
        `checkpoint it first (sqlite3 ${file} 'PRAGMA wal_checkpoint(TRUNCATE)'), then run again`,
      );
  const own = configured ? keptTargetOf(configured.path) : undefined;
  const toOther = Boolean(opts.to) && target !== own;
  if (toOther && existsSync(target) && !opts.force)
    throw new UsageError(`refusing to overwrite existing file ${target}; pass --force to replace it`);
  const result: RestoreResult = {
    id: basename(file),
    database: opts.database,
    target,
    preRestoreId: null,
    preRestoreFile: null,
    undo: null,
    forcedPastUsers: null,
    removedFiles: [],
    check: "kept",
    permissions: null,
    durationMs: 0,
    notifyWarnings: [],
  };
  const lock = await acquireLock(
    databaseFolder(config.backupDir, opts.database),
    { database: opts.database, command: "restore" },
    config.lockTimeoutMs,
  );
  try {
    let hold: ExclusiveHold | null = null;
    let swapped = false;
    try {
      if (existsSync(target)) {
        result.forcedPastUsers = checkInUse(target, opts.force);
        const locked = lockTarget(target, opts.force);
        hold = locked.hold;
        result.forcedPastUsers ??= locked.forcedPastUsers;
        // With other users on it the file is not whole (their WAL goes): no safety copy then, as --force says.
        if (!result.forcedPastUsers) result.preRestoreFile = keepReplaced(target);
      }
      result.removedFiles.push(...removeSidecars(target), ...removeSidecars(file));
      renameSync(file, target);
      fsyncDir(dirname(target));
      swapped = true;
      pausePoint("restore:renamed");
    } finally {
      hold?.release();
      if (!swapped && result.preRestoreFile) removeQuietly(result.preRestoreFile);
    }
    if (result.preRestoreFile) {
      const undoNeedsTo = own !== target;
      result.undo = undoKeptCommand(
        { target, undoNeedsTo, carry: opts.carry, preRestore: { name: opts.database } },
        result.preRestoreFile,
      );
      const policy = configured?.retention ?? config.retention;
      result.removedFiles.push(...rotateKeptCopies(target, policy.keepPreRestore, [result.preRestoreFile]));
    }
    appendOpLog(config.logFile, {
      op: "restore",
      database: opts.database,
      id: result.id,
      ok: true,
      target,
      pre_restore_file: result.preRestoreFile ?? undefined,
      duration_ms: Date.now() - started,
    });
    return result;
  } catch (err) {
    appendOpLog(config.logFile, {
      op: "restore",
      database: opts.database,
      id: result.id,
      ok: false,
      target,
      error: describeError(err),
    });
    if (err instanceof SqlbakError) throw err;
    throw new OperationError(`restore of ${file} to ${target} failed: ${describeError(err)}`, { cause: err });
  } finally {
    lock.release();
    result.durationMs = Date.now() - started;
  }
}
