/** One database's stats from its folder's listing and the op log: counts, sizes, freshness, verification, problems. */
import {
  addedBytes,
  isUnacknowledgedShrink,
  latestVerification,
  type Manifest,
  newestOwn,
  storedBytesOf,
  walStarvationOf,
} from "../model/index.ts";
import type { FolderListing, KeptCopy, LoggedEntry } from "../store/index.ts";
import { failedBackups } from "./failed-backups.ts";
import type { BackupRef } from "./remote.ts";
import type { DatabaseStats } from "./stats-report.ts";

function ref(id: string, createdAt: string, nowMs: number): BackupRef {
  return { id, created_at: createdAt, age_ms: nowMs - Date.parse(createdAt) };
}

function lastRestoreTest(listing: FolderListing, nowMs: number): DatabaseStats["last_restore_test"] {
  let best: DatabaseStats["last_restore_test"] = null;
  for (const b of listing.backups) {
    for (const v of b.manifest.verifications) {
      if (v.level === "checksum" || (best && Date.parse(v.at) <= Date.parse(best.at))) continue;
      best = { ...v, id: b.manifest.id, age_ms: nowMs - Date.parse(v.at) };
    }
  }
  return best;
}

function lastVerification(listing: FolderListing, nowMs: number): DatabaseStats["last_verification"] {
  let best: DatabaseStats["last_verification"] = null;
  for (const b of listing.backups) {
    const v = latestVerification(b.manifest);
    if (v && (!best || Date.parse(v.at) > Date.parse(best.at)))
      best = { ...v, id: b.manifest.id, age_ms: nowMs - Date.parse(v.at) };
  }
  return best;
}

function shrunkNewest(backups: Manifest[]): Pick<DatabaseStats, "shrunk"> {
  const m = newestOwn(backups);
  return isUnacknowledgedShrink(m)
    ? {
        shrunk: {
          id: m.id,
          raw_size: m.raw.size,
          previous_id: m.shrunk.previous_id,
          previous_size: m.shrunk.previous_size,
        },
      }
    : {};
}

function walStarvedNewest(backups: Manifest[]): Pick<DatabaseStats, "wal_starved"> {
  const m = newestOwn(backups);
  const w = m && walStarvationOf(m);
  return m && w ? { wal_starved: { ...w, id: m.id, raw_size: m.raw.size } } : {};
}

/** Summarises one database's listing and its op-log entries (oldest first). */
export function databaseStats(
  listing: FolderListing,
  log: LoggedEntry[],
  configured: boolean,
  nowMs: number,
  kept: KeptCopy[] = [],
): DatabaseStats {
  const backups = listing.backups.map((b) => b.manifest);
  const count = { scheduled: 0, manual: 0, "pre-restore": 0, total: backups.length };
  for (const m of backups) count[m.kind]++;
  const stored = storedBytesOf(backups);
  const raw = backups.reduce((s, m) => s + m.raw.size, 0);
  const newest = backups.at(-1);
  const oldest = backups[0];
  const future = backups.filter((m) => Date.parse(m.created_at) > nowMs);
  const present = backups.filter((m) => !(Date.parse(m.created_at) > nowMs));
  const newestOwn = present.filter((m) => m.kind !== "pre-restore").at(-1);
  const newestPresent = present.reduce<(typeof backups)[number] | undefined>(
    (best, m) => (!best || Date.parse(m.created_at) >= Date.parse(best.created_at) ? m : best),
    undefined,
  );
  const mine = log.filter((e) => e.database === listing.database);
  const runs = mine.filter((e) => e.op === "backup");
  const lastRun = runs.at(-1);
  const lastOk = runs.findLastIndex((e) => e.ok);
  const lastOkTs = lastOk >= 0 ? runs[lastOk]!.ts : "";
  return {
    database: listing.database,
    configured,
    count,
    stored_bytes: stored,
    raw_bytes: raw,
    saved_bytes: raw - stored,
    raw_bytes_newest: newest?.raw.size ?? null,
    stored_bytes_newest: newest?.stored.size ?? null,
    added_bytes_newest: newest ? addedBytes(newest) : null,
    compression_ratio: stored > 0 ? Math.round((raw / stored) * 100) / 100 : null,
    oldest: oldest ? ref(oldest.id, oldest.created_at, nowMs) : null,
    newest_own: newestOwn ? ref(newestOwn.id, newestOwn.created_at, nowMs) : null,
    newest: newestPresent ? ref(newestPresent.id, newestPresent.created_at, nowMs) : null,
    future_dated: future.map((m) => ref(m.id, m.created_at, nowMs)),
    last_verification: lastVerification(listing, nowMs),
    last_restore_test: lastRestoreTest(listing, nowMs),
    last_backup_run: lastRun ? { ts: lastRun.ts, ok: lastRun.ok, error: lastRun.error } : null,
    failures_since_success: mine
      .filter((e) => !e.ok && e.ts > lastOkTs)
      .map((e) => ({ ts: e.ts, op: e.op, error: e.error })),
    partials: listing.partials.map((p) => ({ path: p.path, size: p.size, age_ms: nowMs - p.mtimeMs })),
    skipped_manifests: listing.problems,
    ...shrunkNewest(backups),
    ...walStarvedNewest(backups),
    failed_backups: failedBackups(listing, nowMs),
    pre_restore_files: kept.map((k) => ({
      file: k.path,
      created_at: k.created_at,
      size: k.size,
      age_ms: nowMs - Date.parse(k.created_at),
    })),
  };
}
