/** The shape of what `stats` reports (its `--json`, docs/json.md): per database, per volume, per destination. */
import type { KINDS, Verification, WalStarvation } from "../model/index.ts";
import type { ListingProblem, StagingLeftover } from "../store/index.ts";
import type { ChannelDelivery } from "./deliveries.ts";
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
