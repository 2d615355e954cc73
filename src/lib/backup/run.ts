/**
 * One backup of one database, start to finish: lock, snapshot, check, compress,
 * encrypt (with [encryption]) and hash, commit the data file, then the manifest
 * (last: a backup exists only when its manifest does). Any failure removes
 * what this run wrote.
 */
import { join } from "node:path";
import { compressFile, type Sealer, sealerFor } from "../codec/index.ts";
import type { ResolvedConfig, ResolvedDatabase } from "../config/index.ts";
import {
  type BackupKind,
  dataFileName,
  describeError,
  EXIT,
  type ExitCode,
  fsErrorMessage,
  manifestFileName,
  newBackupId,
  OperationError,
  type ProgressFn,
  SqlbakError,
} from "../model/index.ts";
import { manifestText } from "../pages/index.ts";
import {
  assertSourceDatabase,
  type CheckResult,
  checkDatabase,
  type DatabaseFacts,
  describeDatabase,
  openReadOnly,
  takePageSnapshot,
  takeSnapshot,
} from "../snapshot/index.ts";
import { appendOpLog, type BackupListing, databaseFolder, removeStalePartials } from "../store/index.ts";
import {
  acquireLock,
  commitRenameAsync,
  ensureDirAsync,
  type LockOwner,
  pausePoint,
  removeQuietly,
  tempPathFor,
  writeFileAtomicAsync,
} from "../system/index.ts";
import { newManifest, shrinkOf, sourceStat, walWarning } from "./manifest.ts";
import { assertWalAccess } from "./source-access.ts";

export interface BackupOptions {
  kind: BackupKind;
  tags: string[];
  dryRun: boolean;
  now?: () => Date;
  /** Raw bytes read of each database's snapshot, labelled with the database's name. */
  onProgress?: ProgressFn;
  onLockWait?: (database: string, owner: LockOwner | null) => void;
  /** The caller already holds this database's folder lock (restore's pre-restore backup). */
  lockHeld?: boolean;
  /** `--accept-shrink`: a shrink is intended; recorded as `shrink_accepted`, which ends the guard. */
  acceptShrink?: boolean;
}

export interface BackupResult {
  database: string;
  source: string;
  ok: boolean;
  dryRun: boolean;
  exitCode: ExitCode;
  /** How the backup is (or, on a dry run, would be) stored: one self-contained file, or pages (incremental). */
  format: "file" | "pages";
  id?: string;
  dataPath?: string;
  manifestPath?: string;
  rawSize?: number;
  storedSize?: number;
  durationMs: number;
  error?: string;
  removedPartials: string[];
  /** Things done on the way that the user should hear about (not problems), e.g. an id key fetched from a destination. */
  notes: string[];
  warnings: string[];
  /** Set when the database shrank against its previous backup (the manifest's `shrunk`). */
  shrunk?: { previous_id: string; previous_size: number };
  shrinkAccepted?: boolean;
}

/**
 * Takes the snapshot into `storedTemp` (compressed) and checks it. "pages"
 * streams it in one pass and checks it inside the same read transaction;
 * "vacuum" writes the VACUUM INTO image to `snapshotPath` first, checks that
 * copy, then compresses it.
 */
async function snapshotAndCompress(
  db: ResolvedDatabase,
  snapshotPath: string,
  storedTemp: string,
  opts: BackupOptions,
  sealer: Sealer | null,
) {
  const progress = (done: number, total: number) => opts.onProgress?.(db.name, done, total);
  if (db.snapshotMethod === "pages") {
    const r = await takePageSnapshot(db.path, storedTemp, {
      codec: db.compression,
      level: db.compressionLevel,
      check: db.check,
      onProgress: progress,
      makeFilter: sealer?.create,
    });
    const snap = { method: r.method, journal_mode: r.journal_mode, wal_frames: r.wal_frames, wal_bytes: r.wal_bytes };
    return { snap, sums: r, check: r.check, facts: r.facts };
  }
  const snap = takeSnapshot(db.path, snapshotPath);
  const image = openReadOnly(snapshotPath);
  let check: CheckResult;
  let facts: DatabaseFacts;
  try {
    check = checkDatabase(image, db.check);
    facts = describeDatabase(image);
  } finally {
    image.close();
  }
  const total = Bun.file(snapshotPath).size;
  const sums = check.ok
    ? await compressFile(snapshotPath, storedTemp, db.compression, db.compressionLevel, {
        onProgress: (done) => progress(done, total),
        filter: await sealer?.create(),
      })
    : null;
  return { snap, sums, check, facts };
}

/** What a way of storing a backup gets: the run's inputs, and the result to fill in once its manifest is written. */
export interface BackupContext {
  config: ResolvedConfig;
  db: ResolvedDatabase;
  opts: BackupOptions;
  result: BackupResult;
  started: Date;
  sealer: Sealer | null;
  /**
   * The folder's listing made under this lock before the write (removeStalePartials):
   * its backups stand until this one's manifest is written, so nothing lists the folder again.
   */
  listing: BackupListing;
}

/**
 * How one backup's bytes are stored: today's self-contained data file
 * (FILE_STORE), or a page map over packs (pages.ts). `write` runs under the
 * folder's lock, writes the manifest last, and removes what it wrote when it fails.
 */
export interface BackupStore {
  /** The manifest's `stored.format`: a self-contained file, or a page map over packs. */
  format: "file" | "pages";
  /** The file a backup's result names (data file or map): also what a dry run reports. */
  fileName(id: string, db: ResolvedDatabase, encrypted: boolean): string;
  write(ctx: BackupContext): Promise<void>;
}

async function writeBackup({ config, db, opts, result, started, sealer, listing }: BackupContext) {
  const folder = databaseFolder(config.backupDir, db.name);
  const id = newBackupId(db.name, started);
  const dataPath = join(folder, dataFileName(id, db.compression, sealer !== null));
  const manifestPath = join(folder, manifestFileName(id));
  const snapshotPath = tempPathFor(join(folder, `${id}.snapshot`));
  const storedTemp = tempPathFor(dataPath);
  const stat = sourceStat(db.path); // before the snapshot: the file may be gone by the time the manifest is written
  let committedData = false;
  try {
    const { snap, sums, check, facts } = await snapshotAndCompress(db, snapshotPath, storedTemp, opts, sealer);
    pausePoint("backup:snapshot-taken");
    if (!check.ok || !sums)
      throw new OperationError(`snapshot of ${db.path} failed ${check.level} check: ${check.result}`, {
        hint: "the live database itself is probably damaged; run PRAGMA integrity_check on it",
      });
    removeQuietly(snapshotPath);
    const shrunk = shrinkOf(listing, opts, sums.rawSize, facts);
    await commitRenameAsync(storedTemp, dataPath);
    committedData = true;
    pausePoint("backup:data-committed");
    const manifest = newManifest({
      id,
      db,
      opts,
      started,
      stat,
      snap,
      facts,
      raw: { size: sums.rawSize, sha256: sums.rawSha256 },
      stored: {
        file: dataFileName(id, db.compression, sealer !== null),
        size: sums.storedSize,
        sha256: sums.storedSha256,
        compression: db.compression,
        compression_level: db.compressionLevel,
        encryption: sealer?.manifest ?? null,
      },
      check,
      shrunk,
    });
    await writeFileAtomicAsync(manifestPath, await manifestText(manifest, sealer, null));
    Object.assign(result, { id, dataPath, manifestPath, rawSize: sums.rawSize, storedSize: sums.storedSize });
    const wal = walWarning(manifest);
    if (wal) result.warnings.push(wal);
    if (shrunk) Object.assign(result, { shrunk, shrinkAccepted: Boolean(opts.acceptShrink) });
  } catch (err) {
    if (committedData) removeQuietly(dataPath);
    throw err;
  } finally {
    removeQuietly(snapshotPath);
    removeQuietly(`${snapshotPath}-journal`); // VACUUM INTO's journal, left when it fails mid-way
    removeQuietly(storedTemp);
  }
}

/** Today's backups: one self-contained data file that `age -d | zstd -d` alone restores. */
export const FILE_STORE: BackupStore = {
  format: "file",
  fileName: (id, db, encrypted) => dataFileName(id, db.compression, encrypted),
  write: writeBackup,
};

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

function describeFailure(err: unknown, backupDir: string, source: string): string {
  if (err instanceof SqlbakError) return err.hint ? `${err.message} (${err.hint})` : err.message;
  const e = err as NodeJS.ErrnoException;
  // SQLite's errors carry a code too, but they are about a database, not a path under the backup folder.
  if (e?.code === "SQLITE_CORRUPT" || e?.code === "SQLITE_NOTADB")
    return `not a SQLite database, or damaged: ${source} (${describeError(err)})`;
  if (e?.code?.startsWith("SQLITE_")) return `backup of ${source} failed: ${describeError(err)}`;
  if (e?.code && e.path) return fsErrorMessage(err, "write", e.path);
  if (e?.code) return fsErrorMessage(err, "write backup under", backupDir);
  return describeError(err);
}
