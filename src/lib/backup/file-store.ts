/**
 * A backup stored as one self-contained data file: the snapshot compressed
 * (and encrypted) into a temp file, checked, committed, then the manifest.
 */
import { join } from "node:path";
import { compressFile, type Sealer } from "../codec/index.ts";
import type { ResolvedDatabase } from "../config/index.ts";
import { dataFileName, manifestFileName, newBackupId, OperationError } from "../model/index.ts";
import { manifestText } from "../pages/index.ts";
import {
  type CheckResult,
  checkDatabase,
  type DatabaseFacts,
  describeDatabase,
  openReadOnly,
  takePageSnapshot,
  takeSnapshot,
} from "../snapshot/index.ts";
import { databaseFolder } from "../store/index.ts";
import { commitRenameAsync, pausePoint, removeQuietly, tempPathFor, writeFileAtomicAsync } from "../system/index.ts";
import type { BackupOptions } from "./backup-result.ts";
import type { BackupContext, BackupStore } from "./backup-store.ts";
import { newManifest, shrinkOf, sourceStat, walWarning } from "./manifest.ts";

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
