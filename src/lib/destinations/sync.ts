/**
 * Copies local backups to the destinations. For each destination and
 * database, every local backup whose manifest is not there yet is uploaded,
 * newest first: data first, then its size (stat) and — with upload_check =
 * "checksum", the default — its SHA-256 read back from the destination are
 * checked against the manifest, and only then the manifest goes up, last. So
 * an interrupted upload leaves no manifest remotely, is not a backup there,
 * and the next run uploads it again (a destination catches up by itself).
 * A pages backup sends only the packs the destination lacks, before its map
 * (upload-pages.ts), so a published manifest never names a missing pack.
 *
 * Nothing here holds the database lock: uploads can take longer than
 * lock_timeout, and every step is idempotent (two runs uploading the same
 * backup write the same bytes). A destination that fails never fails the
 * local backup: the result carries the error for a warning, the op log and a
 * notification.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ResolvedConfig, ResolvedDestination } from "../config/index.ts";
import {
  DATA_FILE_RE,
  MAP_FILE_RE,
  manifestFileName,
  type ProgressFn,
  parseBackupId,
  storedPages,
} from "../model/index.ts";
import {
  appendOpLog,
  type Backend,
  type BackupListing,
  type ListingCache,
  type LoggedEntry,
  listBackups,
  listByDatabase,
  listFolder,
  openListingCache,
  type RemoteFile,
  readOpLog,
  STALE_PARTIAL_AGE_MS,
  type StoredBackup,
  serializeTagMark,
  tagsMarkName,
} from "../store/index.ts";
import { describeFailure, tryOpenBackend } from "./open.ts";
import { presentFiles, putChecked, reuploadMarked, type UploadState, uploadPacks } from "./upload-pages.ts";

export interface CopyResult {
  destination: string;
  /** `s3://bucket/prefix`, `dir:/mnt/nas`, …; null when the backend could not be opened. */
  location: string | null;
  database: string;
  ok: boolean;
  /** Ids copied by this run, newest first. */
  uploaded: string[];
  /** Bytes sent, manifests excepted: data files; of pages backups, maps and the packs and indexes sent. */
  uploaded_bytes: number;
  /** Local backups the destination already had. */
  already_there: number;
  /** Remote leftovers of interrupted uploads removed (keys). */
  removed_partials: string[];
  /** Ids removed there because `forget` removed them here. */
  forgotten: string[];
  /** Ids whose tags marker (pins, tags of existing backups) was copied there or removed there. */
  marks_synced: string[];
  error?: string;
  duration_ms: number;
  /** Problems that did not fail the copy (an unwritable op log). */
  warnings: string[];
}

export interface SyncOptions {
  now?: () => Date;
  /** The op log, read once per run (forgotten backups); read here when absent. */
  log?: LoggedEntry[];
  onStep?: (message: string) => void;
  /**
   * Each backup's upload as `<database> → <destination>: copying <id>`, in bytes of the files it sends,
   * counted as each file is uploaded and checked (a backend sends a file in one call).
   */
  onProgress?: ProgressFn;
  /** This database's files from the run's one listing of the destination (listed here when absent). */
  files?: RemoteFile[];
}

/**
 * Whether a run over `count` databases lists the whole destination once instead of each
 * database's folder: at S3 from 16 databases on (a listing page holds 1,000 keys, so a few pages
 * replace a request per database). A local folder lists cheaply anyway; SFTP and rclone list each.
 */
export function listsWhole(dest: ResolvedDestination, count: number): boolean {
  return dest.type === "s3" && count >= 16;
}

export { sha256File } from "./upload-pages.ts";

/**
 * Uploads one backup and checks it; throws on any mismatch, leaving no
 * manifest remotely. A pages backup sends first the packs (and indexes) the
 * destination lacks (upload-pages.ts), then its map, then again any pack of it
 * a mark there lists, and the manifest last. `state` says what the
 * destination holds (listed here when absent) and hears of each file sent.
 */
export async function uploadBackup(
  backend: Backend,
  dest: ResolvedDestination,
  b: StoredBackup,
  leftover = false,
  state?: Partial<UploadState>,
): Promise<boolean> {
  const m = b.manifest;
  const dataKey = `${m.database}/${m.stored.file}`;
  // A leftover of an interrupted upload is removed, not overwritten: s3rver (and stores that are only
  // eventually consistent on overwrite) briefly answered HEAD with the old size after a replacing PUT.
  if (leftover) await backend.remove(dataKey);
  const pages = storedPages(m);
  const s: UploadState | null = pages
    ? {
        present: state?.present ?? (await presentFiles(backend, m.database)),
        onUploaded: state?.onUploaded,
        cache: state?.cache,
      }
    : null;
  const sent = pages && s ? await uploadPacks(backend, dest, b, pages, s) : null;
  await putChecked(backend, dest, b.dataPath, dataKey, {
    size: m.stored.size,
    sha256: m.stored.sha256,
    what: "manifest says",
  });
  state?.onUploaded?.(dataKey, m.stored.size);
  // As late as possible: a rotation there may be about to remove a pack this manifest names.
  if (pages && s && sent) await reuploadMarked(backend, dest, b, pages, s, sent);
  if (!existsSync(b.manifestPath)) {
    // Rotated away locally while we uploaded: do not publish it remotely after all (its packs stay, unreferenced).
    await backend.remove(dataKey);
    return false;
  }
  await backend.put(b.manifestPath, `${m.database}/${manifestFileName(m.id)}`);
  return true;
}

async function syncDatabase(
  config: ResolvedConfig,
  backend: Backend,
  dest: ResolvedDestination,
  database: string,
  result: CopyResult,
  opts: SyncOptions,
  cache: ListingCache,
) {
  const local = await listFolder(config.backupDir, database);
  const localIds = new Set(local.backups.map((b) => b.manifest.id));
  const nowMs = (opts.now?.() ?? new Date()).getTime();
  const forgotten = forgottenIds(opts.log ?? readOpLog(config.logFile), database);
  // Presence from the listing: a manifest it shows unchanged since this machine last read or wrote it is not read again.
  let remote = await listBackups(backend, database, undefined, { cache, files: opts.files });
  let removals = toRemove(remote, localIds, forgotten, nowMs);
  // The run's one listing of the destination may be minutes old by now: what removes anything (a stale partial, a
  // forgotten backup, a leftover before its upload again) works from a fresh one.
  if (opts.files && (remote.partials.length || removals.forgotten.length)) {
    remote = await listBackups(backend, database, undefined, { cache });
    removals = toRemove(remote, localIds, forgotten, nowMs);
  }
  const there = new Set(remote.backups.map((b) => b.manifest.id));
  for (const key of removals.partials) {
    await backend.remove(key);
    result.removed_partials.push(key);
  }
  for (const b of removals.forgotten) {
    const id = b.manifest.id;
    opts.onStep?.(`${database}: forgetting ${id} at ${dest.name}`);
    await backend.remove(b.manifestKey);
    await backend.remove(b.dataKey);
    if (b.mark) await backend.remove(b.mark.key);
    there.delete(id);
    result.forgotten.push(id);
  }
  const missing = local.backups.filter((b) => !there.has(b.manifest.id)).reverse();
  result.already_there = local.backups.length - missing.length;
  const leftovers = new Set(remote.partials.map((p) => p.key));
  // Listed once, on the first pages backup, and kept up to date: older backups skip the packs newer ones sent.
  let present: Map<string, number> | undefined;
  for (const b of missing) {
    opts.onStep?.(`${database}: copying ${b.manifest.id} to ${dest.name}`);
    const pages = storedPages(b.manifest);
    if (pages) present ??= await presentFiles(backend, database);
    // What goes up: the data file (a map), and the packs the destination lacks (indexes are small, not counted).
    const total =
      b.manifest.stored.size +
      (pages?.packs ?? []).reduce((n, p) => n + (present?.get(p.name) === p.size ? 0 : p.size), 0);
    const label = `${database} → ${dest.name}: copying ${b.manifest.id}`;
    opts.onProgress?.(label, 0, total);
    let bytes = 0;
    const state = {
      present,
      cache,
      onUploaded: (_key: string, size: number) => {
        bytes += size;
        opts.onProgress?.(label, Math.min(bytes, total), total);
      },
    };
    if (await uploadBackup(backend, dest, b, leftovers.has(`${database}/${b.manifest.stored.file}`), state)) {
      cache.rememberUpload(manifestFileName(b.manifest.id), b.manifestPath);
      result.uploaded.push(b.manifest.id);
      result.uploaded_bytes += bytes;
      there.add(b.manifest.id);
    }
  }
  await syncMarks(backend, local.backups, remote.backups, there, result, cache);
}

/**
 * What a sync removes there: data without a manifest whose local backup is gone (rotated) and which
 * will never be completed, once stale; and the backups forgotten here (op log), so forgotten there —
 * manifest first, data second, marker last, its packs left to the two-phase freeing of the
 * destination's rotation. A copy sqlbak did not forget here is never touched.
 */
function toRemove(remote: BackupListing, localIds: Set<string>, forgotten: Set<string>, nowMs: number) {
  const partials: string[] = [];
  for (const p of remote.partials) {
    const name = p.key.split("/")[1]!;
    const id = DATA_FILE_RE.exec(name)?.[1] ?? MAP_FILE_RE.exec(name)?.[1];
    const created = id === undefined ? undefined : parseBackupId(id)?.createdAt.getTime();
    if (id === undefined || created === undefined || localIds.has(id) || nowMs - created < STALE_PARTIAL_AGE_MS)
      continue;
    partials.push(p.key);
  }
  const gone = [...remote.backups, ...remote.missingData].filter(
    (b) => forgotten.has(b.manifest.id) && !localIds.has(b.manifest.id),
  );
  return { partials, forgotten: gone };
}

/** Ids `forget` removed from `database` here, from the op log. */
function forgottenIds(log: LoggedEntry[], database: string): Set<string> {
  const ids = new Set<string>();
  for (const e of log) if (e.op === "forget" && e.database === database && typeof e.id === "string") ids.add(e.id);
  return ids;
}

/**
 * Makes each tags marker there what it is here, for the backups there: copied when it
 * differs, removed when it is gone here (store/marks.ts), so the destination's listing
 * and retention see the same pins and tags.
 */
async function syncMarks(
  backend: Backend,
  local: Awaited<ReturnType<typeof listFolder>>["backups"],
  remote: Awaited<ReturnType<typeof listBackups>>["backups"],
  there: Set<string>,
  result: CopyResult,
  cache: ListingCache,
) {
  const remoteById = new Map(remote.map((b) => [b.manifest.id, b]));
  for (const b of local) {
    const id = b.manifest.id;
    if (!there.has(id)) continue;
    const theirs = remoteById.get(id)?.mark;
    const key = `${b.manifest.database}/${tagsMarkName(id)}`;
    if (b.mark) {
      if (theirs && serializeTagMark(theirs.value) === serializeTagMark(b.mark.value)) continue;
      const path = join(dirname(b.manifestPath), tagsMarkName(id));
      await backend.put(path, key);
      cache.rememberUpload(tagsMarkName(id), path);
    } else if (theirs) await backend.remove(theirs.key);
    else continue;
    result.marks_synced.push(id);
  }
}

/**
 * Brings every destination up to date for `databases`. Never throws: one
 * result per destination and database, each logged to the op log.
 */
export async function syncDestinations(
  config: ResolvedConfig,
  databases: string[],
  opts: SyncOptions = {},
): Promise<CopyResult[]> {
  const results: CopyResult[] = [];
  let log: LoggedEntry[] | undefined;
  for (const dest of config.destinations) {
    const opened = await tryOpenBackend(dest);
    const backend = opened instanceof Error ? null : opened;
    // A few pages of one listing instead of a request per database; if it fails, each database lists (and fails) alone.
    const whole =
      backend && listsWhole(dest, databases.length) ? await listByDatabase(backend).catch(() => null) : null;
    for (const database of databases) {
      const r: CopyResult = {
        destination: dest.name,
        location: backend?.describe ?? null,
        database,
        ok: false,
        uploaded: [],
        uploaded_bytes: 0,
        already_there: 0,
        removed_partials: [],
        forgotten: [],
        marks_synced: [],
        duration_ms: 0,
        warnings: [],
      };
      const t0 = Date.now();
      try {
        if (opened instanceof Error) throw opened;
        // Read once for the whole run, before any copy of this run is logged.
        log ??= readOpLog(config.logFile);
        const cache = openListingCache(config.backupDir, dest.name, opened.describe, database);
        try {
          const files = whole ? (whole.get(database) ?? []) : undefined;
          await syncDatabase(config, opened, dest, database, r, { ...opts, log, files }, cache);
        } finally {
          cache.save();
        }
        r.ok = true;
      } catch (err) {
        r.error = describeFailure(err);
      }
      r.duration_ms = Date.now() - t0;
      const logError = appendOpLog(config.logFile, {
        op: "copy",
        destination: dest.name,
        database,
        ok: r.ok,
        uploaded: r.uploaded,
        stored_size: r.uploaded_bytes,
        ...(r.forgotten.length ? { forgotten: r.forgotten } : {}),
        duration_ms: r.duration_ms,
        error: r.error,
      });
      if (logError) r.warnings.push(logError);
      results.push(r);
    }
    await backend?.close().catch(() => undefined);
  }
  return results;
}
