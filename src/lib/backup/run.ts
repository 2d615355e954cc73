/**
 * One backup of one database, start to finish: lock, snapshot, check, compress,
 * encrypt (with [encryption]) and hash, commit the data file, then the manifest
 * (last: a backup exists only when its manifest does). Any failure removes
 * what this run wrote.
 */
import { join } from "node:path";
import { sealerFor } from "../codec/index.ts";
import type { ResolvedConfig, ResolvedDatabase } from "../config/index.ts";
import { EXIT, fsErrorMessage, manifestFileName, newBackupId, OperationError, SqlbakError } from "../model/index.ts";
import { assertSourceDatabase } from "../snapshot/index.ts";
import { appendOpLog, databaseFolder, removeStalePartials } from "../store/index.ts";
import { acquireLock, ensureDirAsync } from "../system/index.ts";
import type { BackupOptions, BackupResult } from "./backup-result.ts";
import type { BackupStore } from "./backup-store.ts";
import { describeFailure } from "./failure-text.ts";
import { FILE_STORE } from "./file-store.ts";
import { assertWalAccess } from "./source-access.ts";

/**
 * Backs up one database, its bytes stored by `store` (today's data file by
 * default). Never throws for a failure of the backup itself: the
 * result says ok or not, with the error text and exit code (1 failed, 4 locked).
 */
export async function backupDatabase(
  config: ResolvedConfig,
  db: ResolvedDatabase,
  opts: BackupOptions,
  store: BackupStore = FILE_STORE,
): Promise<BackupResult> {
  const started = opts.now?.() ?? new Date();
  const result: BackupResult = {
    database: db.name,
    source: db.path,
    ok: false,
    dryRun: opts.dryRun,
    exitCode: EXIT.ok,
    format: store.format,
    durationMs: 0,
    removedPartials: [],
    notes: [],
    warnings: [],
  };
  try {
    assertSourceDatabase(db.path);
    const sealer = sealerFor(config.encryption);
    const folder = databaseFolder(config.backupDir, db.name);
    if (opts.dryRun) {
      assertWalAccess(db.path);
      result.id = newBackupId(db.name, started);
      result.dataPath = join(folder, store.fileName(result.id, db, sealer !== null));
      result.manifestPath = join(folder, manifestFileName(result.id));
    } else {
      try {
        await ensureDirAsync(folder);
      } catch (err) {
        throw new OperationError(fsErrorMessage(err, "create backup folder", folder));
      }
      assertWalAccess(db.path);
      const lock = opts.lockHeld
        ? null
        : await acquireLock(folder, { database: db.name, command: "backup" }, config.lockTimeoutMs, (o) =>
            opts.onLockWait?.(db.name, o),
          );
      try {
        const { removed, listing } = await removeStalePartials(
          config.backupDir,
          db.name,
          started.getTime(),
          config.logFile,
        );
        result.removedPartials = removed;
        await store.write({ config, db, opts, result, started, sealer, listing });
      } finally {
        lock?.release();
      }
    }
    result.ok = true;
  } catch (err) {
    result.exitCode = err instanceof SqlbakError ? err.exitCode : EXIT.failed;
    result.error = describeFailure(err, config.backupDir, db.path);
  }
  result.durationMs = Date.now() - started.getTime();
  if (!opts.dryRun) {
    const logError = appendOpLog(config.logFile, {
      op: "backup",
      database: db.name,
      ok: result.ok,
      id: result.id,
      kind: opts.kind,
      file: result.dataPath,
      raw_size: result.rawSize,
      stored_size: result.storedSize,
      duration_ms: result.durationMs,
      error: result.error,
      shrunk: result.shrunk,
      shrink_accepted: result.shrinkAccepted || undefined,
    });
    if (logError) result.warnings.push(logError);
  }
  return result;
}
