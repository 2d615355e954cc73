/**
 * Puts a backup back, in an order that can never make things worse: verify the
 * stored file, decompress it (a pages backup: reassemble it from its map
 * and packs) beside the target (same folder, so the final rename is atomic),
 * integrity_check it against the manifest, take a
 * pre-restore backup of the current database, make sure nobody is using it,
 * then swap the files with one rename. A kill -9 at any point leaves the
 * target either wholly the old database or wholly the new one.
 */
import { Database } from "bun:sqlite";
import { chmodSync, chownSync, closeSync, existsSync, fsyncSync, openSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { backupDatabase } from "../backup/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import {
  describeError,
  type Manifest,
  OperationError,
  type ProgressFn,
  SqlbakError,
  storedPages,
  suggestCommand,
} from "../model/index.ts";
import { checkDatabase } from "../snapshot/index.ts";
import { appendOpLog, databaseFolder } from "../store/index.ts";
import { acquireLock, commitRename, pausePoint, removeQuietly, tempPathFor } from "../system/index.ts";
import {
  BackupDamagedError,
  checkStoredFile,
  decompressChecked,
  inspectImage,
  reassembleChecked,
  removeImage,
} from "../verify/index.ts";
import { describeOpeners, type ExclusiveHold, findOpeners, holdExclusive } from "./live-db.ts";
import { type RestorePlan, undoCommand } from "./plan.ts";

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
  /** Mode and owner the restored file got, and where they came from. */
  permissions: RestoredPermissions | null;
  durationMs: number;
  /** `restore` events that could not be delivered (each also in the op log). */
  notifyWarnings: string[];
}

/**
 * `replaced`: the file restored over; `backup`: recorded at backup time;
 * `folder`: the target folder's owner and the umask (older backups record none).
 */
export interface RestoredPermissions {
  mode: number;
  uid: number;
  gid: number;
  from: "replaced" | "backup" | "folder";
}

/**
 * Temporaries of an earlier restore to `target` that died (restore runs hold the lock, so none is live): the copy
 * `.<name>.<hex>.tmp` and, for a pages backup, the image being reassembled into it (`..<name>.<hex>.tmp.<hex>.tmp`).
 */
function removeStaleTemps(target: string): string[] {
  const temp = `\\.${basename(target).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.[0-9a-f]{8}\\.tmp`;
  const re = new RegExp(`^(${temp}|\\.${temp}\\.[0-9a-f]{8}\\.tmp)(-wal|-shm|-journal)?$`);
  const stale = readdirSync(dirname(target))
    .filter((n) => re.test(n))
    .map((n) => join(dirname(target), n));
  for (const p of stale) removeQuietly(p);
  return stale;
}

/**
 * Verifies the backup and leaves a checked, ready-to-rename copy at `temp`; throws BackupDamagedError.
 * `onProgress` hears the decompression or reassembly.
 */
async function prepareCopy(plan: RestorePlan, temp: string, onProgress?: ProgressFn): Promise<RestoredPermissions> {
  const m0 = plan.backup.manifest;
  const pass = (what: string) =>
    onProgress &&
    ((done: number, total: number) => onProgress(`${m0.database}: restoring ${m0.id} (${what})`, done, total));
  // The stored file is hashed once, while it is decompressed; only when that
  // fails is it hashed on its own, to report the checksum problem precisely.
  // A pages backup is reassembled from its map and packs instead, each checked
  // against its recorded SHA-256 as it is read, which names a damaged pack.
  let { manifest, problems } = await checkStoredFile(plan.backup, { hash: false, keys: plan.keys });
  if (manifest && problems.length === 0 && storedPages(manifest)) {
    problems.push(...(await reassembleChecked(plan.backup, manifest, temp, plan.keys, [], pass("reassembling"))));
    if (problems.length === 0) problems.push(...inspectImage(temp, manifest, "full", []));
  } else if (manifest && problems.length === 0) {
    problems.push(...(await decompressChecked(plan.backup, manifest, temp, plan.keys, pass("decompressing"))));
    if (problems.length > 0) {
      const hashed = await checkStoredFile(plan.backup);
      if (hashed.problems.length > 0) ({ manifest, problems } = hashed);
    }
    if (problems.length === 0) problems.push(...inspectImage(temp, manifest!, "full", []));
  }
  const id = plan.backup.manifest.id;
  if (problems.length > 0)
    throw new BackupDamagedError(`refusing to restore ${id}: ${problems.join("; ")}`, problems, damagedHint(plan));
  // VACUUM INTO images are in rollback mode; give the copy the journal mode the live database had.
  if (manifest!.snapshot.journal_mode === "wal") {
    const db = new Database(temp, { readwrite: true });
    try {
      db.run("PRAGMA journal_mode = WAL");
    } finally {
      db.close();
    }
  }
  const permissions = applyPermissions(plan, manifest!, temp);
  const fd = openSync(temp, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return permissions;
}

/** Commands that read the backup this restore read: same config, backup folder, destination (and key, for verify). */
function damagedHint(plan: RestorePlan): string {
  const carry = plan.carry ?? [];
  const from = plan.from !== undefined ? ["--from", plan.from] : [];
  const verify = suggestCommand(["verify", plan.backup.manifest.id, ...carry, ...from]);
  const list = suggestCommand([
    "list",
    plan.database,
    ...carry.filter((w, i) => w !== "--identity" && carry[i - 1] !== "--identity"),
    ...from,
  ]);
  return `nothing was changed; check it with \`${verify}\` and pick another backup (\`${list}\`)`;
}

/**
 * Gives the copy the mode and owner the application expects: those of the file
 * it replaces; for a new path, those recorded at backup time; for an older
 * backup without them, the folder's owner and the umask. See docs/restore.md.
 */
function applyPermissions(plan: RestorePlan, manifest: Manifest, temp: string): RestoredPermissions {
  let want: RestoredPermissions;
  if (plan.targetExists) {
    const st = statSync(plan.target);
    want = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, from: "replaced" };
  } else if (manifest.source_stat) {
    want = { ...manifest.source_stat, from: "backup" };
  } else {
    const st = statSync(dirname(plan.target));
    const umask = process.umask();
    want = { mode: 0o666 & ~umask, uid: st.uid, gid: st.gid, from: "folder" };
  }
  chmodSync(temp, want.mode);
  try {
    chownSync(temp, want.uid, want.gid);
  } catch {
    // not root: the copy stays ours, as the file we replace most likely was
    const st = statSync(temp);
    want = { ...want, uid: st.uid, gid: st.gid };
  }
  return want;
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

function quickCheckTarget(target: string): string {
  const db = new Database(target, { readwrite: true });
  try {
    const check = checkDatabase(db, "quick");
    return check.ok ? "ok" : check.result;
  } finally {
    db.close();
  }
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
    undo: null,
    forcedPastUsers: null,
    removedFiles: [],
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
  { onStep = () => {}, onProgress }: RestoreEvents,
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
    onStep(`verifying ${result.id} and ${how} it beside ${plan.target}`);
    result.permissions = await prepareCopy(plan, temp, onProgress);
    pausePoint("restore:copy-ready");
    if (plan.preRestore) {
      result.forcedPastUsers = checkInUse(plan);
      onStep(`taking a pre-restore backup of ${plan.target}`);
      const pre = await backupDatabase(config, plan.preRestore, {
        kind: "pre-restore",
        tags: [],
        dryRun: false,
        lockHeld: plan.preRestore.name === plan.database,
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
    const hold = plan.targetExists ? lockTarget(plan, result) : null;
    try {
      pausePoint("restore:target-held");
      result.removedFiles.push(...removeSidecars(plan.target));
      commitRename(temp, plan.target);
      pausePoint("restore:renamed");
    } finally {
      hold?.release();
    }
    const check = quickCheckTarget(plan.target);
    if (check !== "ok")
      throw new OperationError(`restored ${plan.target} but it failed quick_check: ${check}`, {
        hint: result.undo ? `undo with: ${result.undo}` : undefined,
      });
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
