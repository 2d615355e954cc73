/**
 * A pages (incremental) backup of one database: the snapshot's pages go
 * through their keyed ids; a page already stored in a pack that a listed
 * backup of the folder references is referenced (unless the pack is missing,
 * of the wrong size or failed its latest verification: known-packs.ts), any
 * other goes into a new pack. Write order, each step durable (fsync, rename, folder fsync) before
 * the next: new packs, each followed by its index; the map `<id>.map.zst[.age]`;
 * the manifest, last. A backup exists only once its manifest does, and by
 * then everything it references is on disk. Lock, sweep of stale partials,
 * op log and failure reporting are backupDatabase's (run.ts), as for every backup.
 * `sqlbak backup` uses it for a database with `incremental = true`
 * (as-configured.ts). The format is docs/format.md.
 */
import { join } from "node:path";
import type { AgeKeys } from "../../age/index.ts";
import type { Sealer } from "../codec/index.ts";
import type { ResolvedConfig, ResolvedDatabase } from "../config/index.ts";
import {
  CHECK_LEVELS,
  type CheckLevel,
  latestVerification,
  type Manifest,
  manifestFileName,
  mapFileName,
  newBackupId,
  OperationError,
  storedPages,
} from "../model/index.ts";
import { type MapBuilder, manifestText, openSealedMeta, pagesPerFrame } from "../pages/index.ts";
import { type CheckReuse, consumePageSnapshot, type ReaderChoice } from "../snapshot/index.ts";
import { databaseFolder } from "../store/index.ts";
import { pausePoint, removeQuietly, writeFileAtomicAsync } from "../system/index.ts";
import { loadBaseImage } from "./base-image.ts";
import { loadKnownPacks } from "./known-packs.ts";
import { newManifest, shrinkOf, sourceStat, walWarning } from "./manifest.ts";
import { PageSink } from "./page-sink.ts";
import { type BackupContext, type BackupOptions, type BackupResult, type BackupStore, backupDatabase } from "./run.ts";

export interface PagesBackupOptions extends BackupOptions {
  /**
   * The id key (32 bytes): every page's id, and the fingerprint each new pack index records.
   * A function is called under the folder's lock, only when the backup runs (never on a dry run).
   */
  idKey: Uint8Array | ((ctx: BackupContext) => Promise<Uint8Array>);
  /**
   * What opens older age-encrypted pack indexes (`.idx.age`) to find pages already
   * stored; sealed ones (`.idx.sealed`, what backups write) open with the id key.
   * Default: the passphrase of a passphrase config; none for recipients (their old
   * age indexes are then unreadable here, and the pages they hold are stored again).
   */
  indexKeys?: AgeKeys;
  /** Called once each stored file (pack, pack index, map, manifest) is durable under its final name. */
  onStored?: (name: string) => void;
  /** Where the snapshot's reader runs (default "auto": by the source's size; tests pick one). */
  snapshotReader?: ReaderChoice;
  /** Whether ids and raw SHA-256 go to a worker (default "auto": by the image's size; tests pick one). */
  idWorker?: "auto" | "never" | "always";
}

/** Images from this size on get a full garbage collection before their map is encoded. */
const FULL_GC_MIN_BYTES = 64 * 1024 * 1024;

/** zstd level of packs and map: the database's when it compresses with zstd, else zstd's default. */
const levelOf = (db: ResolvedDatabase) => (db.compression === "zstd" ? db.compressionLevel : 3);

function defaultIndexKeys(config: ResolvedConfig): AgeKeys | null {
  const enc = config.encryption;
  if (enc?.type !== "passphrase") return null;
  const passphrase = process.env[enc.passphraseEnv];
  return passphrase ? { identities: [], passphrase } : null;
}

/** The map's stored bytes: zstd, then age when the backup is encrypted. */
async function mapBytes(map: MapBuilder, level: number, sealer: Sealer | null): Promise<Uint8Array> {
  const compressed = Bun.zstdCompressSync(map.encode(), { level });
  if (!sealer) return compressed;
  const f = await sealer.create();
  return Buffer.concat([...(await f.push(compressed)), ...(await f.end())]);
}

/**
 * The listed pages backups whose image may stand for a new one's check: passed at
 * `level` or above, and not FAILED by their own latest verification. A new image
 * equal to one of them (raw SHA-256, page size and count) is byte for byte an image
 * that passed: its check and facts are copied instead of running the check again.
 */
export function checkReuse(backups: readonly Manifest[], level: CheckLevel): CheckReuse {
  const rank = (l: CheckLevel) => CHECK_LEVELS.indexOf(l);
  const usable = backups.filter(
    (m) =>
      storedPages(m) !== null &&
      m.check.ok &&
      rank(m.check.level) >= rank(level) &&
      latestVerification(m)?.ok !== false,
  );
  const same = (m: Manifest, g: { pageSize: number; pageCount: number }) =>
    m.snapshot.page_size === g.pageSize && m.snapshot.page_count === g.pageCount;
  return {
    possible: (g) => usable.some((m) => same(m, g)),
    find(image) {
      const m = usable.findLast((b) => same(b, image) && b.raw.sha256 === image.rawSha256);
      if (!m) return null;
      const { sqlite_version, page_size, page_count, user_version, schema_sha256, tables } = m.snapshot;
      // A sealed meta block that did not open leaves raw.sha256 unknown, so such a backup never matched.
      if (sqlite_version === undefined || user_version === undefined || schema_sha256 === undefined || !tables)
        return null;
      return {
        check: { level: m.check.level, ok: true, result: "ok", reused_from: m.id },
        facts: { sqlite_version, page_size, page_count, user_version, schema_sha256, tables },
      };
    },
  };
}

async function writePages(ctx: BackupContext, opts: PagesBackupOptions): Promise<void> {
  const { config, db, result, started, sealer, listing: listed } = ctx;
  const folder = databaseFolder(config.backupDir, db.name);
  const id = newBackupId(db.name, started);
  const mapName = mapFileName(id, sealer !== null);
  const mapPath = join(folder, mapName);
  const manifestName = manifestFileName(id);
  const stat = sourceStat(db.path); // before the snapshot: the file may be gone by the time the manifest is written
  const keys = opts.indexKeys ?? defaultIndexKeys(config);
  const idKey = typeof opts.idKey === "function" ? await opts.idKey(ctx) : opts.idKey;
  const unlisted = listed.missingData.map((b) => b.manifest); // their verification records count too
  const level = levelOf(db);
  // An encrypted backup's facts and raw SHA-256 are in its meta block, sealed under this same id key.
  const opened = listed.backups.map((b) => openSealedMeta(b.manifest, idKey));
  // Passed straight in: the sink lets go of the stored packs' ids once the copy is done.
  const sink = new PageSink(await loadKnownPacks(folder, listed.backups, idKey, keys, unlisted), {
    folder,
    idKey,
    level,
    seal: sealer?.create,
    onStored: opts.onStored,
    idWorker: opts.idWorker,
    base: (geometry) => loadBaseImage(folder, opened, geometry, keys),
  });
  let mapWritten = false;
  try {
    const snap = await consumePageSnapshot(db.path, sink, {
      check: db.check,
      reuse: checkReuse(opened, db.check),
      onProgress: (done, total) => opts.onProgress?.(db.name, done, total),
      reader: opts.snapshotReader,
    });
    pausePoint("backup:snapshot-taken");
    if (!snap.check.ok)
      throw new OperationError(`snapshot of ${db.path} failed ${snap.check.level} check: ${snap.check.result}`, {
        hint: "the live database itself is probably damaged; run PRAGMA integrity_check on it",
      });
    const { map, packs, newBytes } = await sink.finish();
    if (map.pageCount !== snap.page_count)
      throw new Error(`page map of ${id} covers ${map.pageCount} pages, the snapshot has ${snap.page_count}`);
    const shrunk = shrinkOf(listed, opts, snap.rawSize, snap.facts);
    // The ids and table the sink let go of, before the map's bytes are made; for a small image they are
    // small, and a full collection cost ~18 ms a database in a run of many (docs/performance.md).
    if (snap.rawSize >= FULL_GC_MIN_BYTES) Bun.gc(true);
    const stored = await mapBytes(map, level, sealer);
    await writeFileAtomicAsync(mapPath, stored);
    mapWritten = true;
    opts.onStored?.(mapName);
    pausePoint("backup:data-committed");
    const manifest = newManifest({
      id,
      db,
      opts,
      started,
      stat,
      snap,
      facts: snap.facts,
      raw: { size: snap.rawSize, sha256: snap.rawSha256 },
      stored: {
        format: "pages",
        file: mapName,
        size: stored.length,
        sha256: new Bun.CryptoHasher("sha256").update(stored).digest("hex"),
        compression: "zstd",
        compression_level: level,
        encryption: sealer?.manifest ?? null,
        packs,
        page_size: snap.page_size,
        pages_per_frame: pagesPerFrame(snap.page_size),
      },
      check: snap.check,
      shrunk,
    });
    const manifestPath = join(folder, manifestName);
    await writeFileAtomicAsync(manifestPath, await manifestText(manifest, sealer, idKey));
    opts.onStored?.(manifestName);
    const storedSize = stored.length + newBytes;
    Object.assign(result, { id, dataPath: mapPath, manifestPath, rawSize: snap.rawSize, storedSize });
    const wal = walWarning(manifest);
    if (wal) result.warnings.push(wal);
    if (shrunk) Object.assign(result, { shrunk, shrinkAccepted: Boolean(opts.acceptShrink) });
  } catch (err) {
    // Nothing references what this run wrote until its manifest exists: remove it all.
    if (mapWritten) removeQuietly(mapPath);
    await sink.abort();
    throw err;
  }
}

/**
 * Backs up one database as a pages backup in its folder under backup_dir,
 * deduplicated against the packs its listed backups reference. Like
 * backupDatabase, never throws for a failure of the backup itself: the result
 * says ok or not (`storedSize` is what this backup added: map and new packs).
 */
export function writePagesBackup(
  config: ResolvedConfig,
  db: ResolvedDatabase,
  opts: PagesBackupOptions,
): Promise<BackupResult> {
  const store: BackupStore = {
    format: "pages",
    fileName: (id, _db, encrypted) => mapFileName(id, encrypted),
    write: (ctx) => writePages(ctx, opts),
  };
  return backupDatabase(config, db, opts, store);
}
