/**
 * What `stats` reports: per database, what backups exist, how big, how fresh,
 * how recently and how well verified, what failed since the last success, and
 * what partial files linger; per volume, free space. Gathering is separate from
 * judging (verdict.ts), so the verdict is a pure function of this report.
 */
import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { ResolvedConfig } from "../config/index.ts";
import {
  addedBytes,
  describePackFailure,
  isUnacknowledgedShrink,
  type KINDS,
  latestVerification,
  type Manifest,
  newestOwn,
  packFailuresOf,
  storedBytesOf,
  type Verification,
  type WalStarvation,
  walStarvationOf,
} from "../model/index.ts";
import {
  configuredKeptCopies,
  type FolderListing,
  type KeptCopy,
  type ListingProblem,
  type LoggedEntry,
  listStaging,
  missingDataProblem,
  readOpLog,
  type StagingLeftover,
} from "../store/index.ts";
import { type ChannelDelivery, lastDeliveries } from "./deliveries.ts";
import type { BackupRef, DestinationStats } from "./remote.ts";

export interface DatabaseStats {
  database: string;
  configured: boolean;
  count: Record<(typeof KINDS)[number], number> & { total: number };
  /** What the backups hold: data files and maps, plus each pack once however many backups share it. */
  stored_bytes: number;
  /** The sum of the backups' raw (logical) sizes: what full copies of every image would take uncompressed. */
  raw_bytes: number;
  /** raw_bytes − stored_bytes: what compression and shared pages save. */
  saved_bytes: number;
  raw_bytes_newest: number | null;
  /** The newest backup's data file, or its map alone for a pages backup. */
  stored_bytes_newest: number | null;
  /** What the newest backup added: its data file, or its map plus the packs it wrote. */
  added_bytes_newest: number | null;
  /** raw / stored over all backups; null without backups. */
  compression_ratio: number | null;
  oldest: BackupRef | null;
  /** The newest backup dated at or before now; a future-dated one never counts as the newest. */
  newest: BackupRef | null;
  /**
   * Newest scheduled or manual backup: what freshness (max_age) is judged by. A
   * pre-restore copy can be of another file (`restore --to other.db --force`),
   * so it never makes a database look freshly backed up.
   */
  newest_own: BackupRef | null;
  /** Backups dated after now (the clock was wrong when they were taken, or is now); their age_ms is negative. */
  future_dated: BackupRef[];
  last_verification: (Verification & { id: string; age_ms: number }) | null;
  /** The newest verification that restored the image (level quick or full), over every backup's history. */
  last_restore_test: (Verification & { id: string; age_ms: number }) | null;
  last_backup_run: { ts: string; ok: boolean; error?: string } | null;
  /** Failed operations on this database logged after its last successful backup. */
  failures_since_success: { ts: string; op: string; error?: string }[];
  partials: { path: string; size: number; age_ms: number }[];
  /** Backups whose manifest exists but cannot be read: kept, and a health problem. */
  skipped_manifests: ListingProblem[];
  /** Present only when the newest scheduled or manual backup records a shrink nobody acknowledged; a health problem. */
  shrunk?: { id: string; raw_size: number; previous_id: string; previous_size: number };
  /** Present only when the newest scheduled or manual backup read a starved WAL (model/wal.ts); a health problem. */
  wal_starved?: WalStarvation & { id: string; raw_size: number };
  /**
   * Backups that cannot stand in for a good one: the latest entry of their
   * verification history FAILED, a pack they reference failed its newest
   * verification (of any backup), or their data file is missing. A health
   * problem until re-verified OK, removed, or rotated away (oldest first).
   */
  failed_backups: FailedBackup[];
  /**
   * Restore's kept copies beside the configured database (kind `pre-restore-file`, newest first):
   * safety copies, not backups, so never in `count` nor the sizes, and never fresh.
   */
  pre_restore_files: { file: string; created_at: string; size: number; age_ms: number }[];
}

export interface FailedBackup {
  id: string;
  created_at: string;
  reason: "failed verification" | "pack failed verification" | "data missing";
  /** The first problem recorded (or the missing file); for a bad pack, which record failed it, per pack. */
  detail: string;
  /** When that verification ran (the newest, for bad packs); null for a missing data file never verified since. */
  at: string | null;
  /** The bad packs it references (reason "pack failed verification" only). */
  packs?: string[];
  age_ms: number | null;
}

export interface VolumeStats {
  path: string;
  free_bytes: number;
  total_bytes: number;
}

export interface StatsReport {
  generated_at: string;
  backup_dir: string;
  databases: DatabaseStats[];
  volume: VolumeStats | null;
  totals: { databases: number; backups: number; stored_bytes: number; raw_bytes: number; saved_bytes: number };
  /**
   * Staging folders left under backup_dir by a killed `restore`/`verify --from`, oldest first
   * (absent when there are none).
   */
  staging_leftovers?: StagingLeftover[];
  /** One entry per `[[destination]]` and database (absent without destinations). */
  destinations?: DestinationStats[];
  /** The last delivery to each notification channel that has had one (absent when none has). */
  notifications?: ChannelDelivery[];
}

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

/**
 * Backups whose latest verification failed, that reference a pack whose newest
 * verification failed, or whose data file is gone, oldest first.
 */
export function failedBackups(listing: FolderListing, nowMs: number): FailedBackup[] {
  const out: FailedBackup[] = [];
  const packFailures = packFailuresOf([...listing.backups, ...(listing.missingData ?? [])].map((b) => b.manifest));
  for (const b of listing.backups) {
    const v = latestVerification(b.manifest);
    const viaPacks = packFailures.get(b.manifest.id);
    if (v && !v.ok)
      out.push({
        id: b.manifest.id,
        created_at: b.manifest.created_at,
        reason: "failed verification",
        detail: v.problems[0] ?? "unknown problem",
        at: v.at,
        age_ms: nowMs - Date.parse(v.at),
      });
    else if (viaPacks) {
      const at = viaPacks.reduce((a, f) => (Date.parse(f.at) > Date.parse(a) ? f.at : a), viaPacks[0]!.at);
      out.push({
        id: b.manifest.id,
        created_at: b.manifest.created_at,
        reason: "pack failed verification",
        detail: viaPacks.map(describePackFailure).join("; "),
        at,
        age_ms: nowMs - Date.parse(at),
        packs: viaPacks.map((f) => f.pack),
      });
    }
  }
  for (const b of listing.missingData ?? []) {
    const v = latestVerification(b.manifest);
    out.push({
      id: b.manifest.id,
      created_at: b.manifest.created_at,
      reason: "data missing",
      detail: listing.problems.find((p) => p.id === b.manifest.id)?.reason ?? missingDataProblem(b.manifest),
      at: v?.at ?? null,
      age_ms: v ? nowMs - Date.parse(v.at) : null,
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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

/**
 * Free and total bytes of the file system that holds (or will hold) `path`:
 * a backup folder not created yet is measured at its nearest existing parent.
 */
export function volumeStats(path: string): VolumeStats | null {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = statfsSync(p);
      return { path, free_bytes: s.bavail * s.bsize, total_bytes: s.blocks * s.bsize };
    } catch {
      if (dirname(p) === p) return null;
    }
  }
}

/** Gathers the whole report for the given listings. */
export function gatherStats(config: ResolvedConfig, listings: FolderListing[], now = new Date()): StatsReport {
  const log = readOpLog(config.logFile);
  const configured = new Set(config.databases.map((d) => d.name));
  const databases = listings.map((l) =>
    databaseStats(
      l,
      log,
      configured.has(l.database),
      now.getTime(),
      configuredKeptCopies(config, l.database).reverse(),
    ),
  );
  const leftovers = listStaging(config.backupDir, now.getTime());
  const deliveries = lastDeliveries(config, log);
  return {
    generated_at: now.toISOString(),
    backup_dir: config.backupDir,
    databases,
    volume: volumeStats(config.backupDir),
    totals: {
      databases: databases.length,
      backups: databases.reduce((s, d) => s + d.count.total, 0),
      stored_bytes: databases.reduce((s, d) => s + d.stored_bytes, 0),
      raw_bytes: databases.reduce((s, d) => s + d.raw_bytes, 0),
      saved_bytes: databases.reduce((s, d) => s + d.saved_bytes, 0),
    },
    ...(leftovers.length ? { staging_leftovers: leftovers } : {}),
    ...(deliveries.length ? { notifications: deliveries } : {}),
  };
}
