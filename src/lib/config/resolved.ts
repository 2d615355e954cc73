/**
 * What a config resolves into: ResolvedConfig, with absolute paths and every
 * default applied, and one ResolvedDatabase per database it names.
 */
import type { CheckLevel, Compression, SnapshotMethodName } from "../model/index.ts";
import type { PreRestoreMode } from "./config-file.ts";
import type { ResolvedDestination } from "./destinations.ts";
import type { DiscoverySource } from "./discover.ts";
import type { EncryptionConfig } from "./encryption.ts";
import type { DatabaseHooks, HooksConfig } from "./hooks.ts";
import type { NotifyConfig } from "./notify.ts";
import type { PingConfig } from "./ping.ts";
import type { RetentionPolicy } from "./retention.ts";
import type { ScheduleConfig } from "./schedule.ts";

export interface ResolvedDatabase {
  name: string;
  /** Absolute path of the live database file. */
  path: string;
  probes: string[];
  check: CheckLevel;
  snapshotMethod: SnapshotMethodName;
  /** `incremental`: pages backups (packs and a page map, docs/format.md) instead of one self-contained file. */
  incremental: boolean;
  /** `pre_restore`: restore's safety copy of this file when `--pre-restore` is not given. */
  preRestore: PreRestoreMode;
  compression: Compression;
  compressionLevel: number;
  /** stats --check: the newest backup may be at most this old. */
  maxAgeMs: number;
  /** stats --check: a verification is due this often (0: never required). */
  verifyMaxAgeMs: number;
  /** rotate: the global [retention] with this database's overrides merged key by key (absent: the global policy). */
  retention?: RetentionPolicy;
  /** rotate at a destination with its own `retention`: that table merged over this database's policy, by name. */
  destinationRetention?: Record<string, RetentionPolicy>;
  /** `timeout` of this database's entry: its backup stops the run once it has run this long. */
  timeoutMs?: number;
  /** Hook commands for this database: its `[database.hooks]` over `[hooks]` (absent: none). */
  hooks?: DatabaseHooks;
}

export interface ResolvedConfig {
  /** The config file used, or null when running on defaults. */
  file: string | null;
  backupDir: string;
  compression: Compression;
  compressionLevel: number;
  check: CheckLevel;
  snapshotMethod: SnapshotMethodName;
  /** The global `incremental`, for databases with no [[database]] entry of their own. */
  incremental: boolean;
  /** The global `pre_restore`, for files with no [[database]] entry of their own. */
  preRestore: PreRestoreMode;
  lockTimeoutMs: number;
  logFile: string;
  /** `status_page`, absolute: the page `stats --check` rewrites; null when not set. */
  statusPage: string | null;
  /** `metrics_file`, absolute: the Prometheus textfile written after every run; null when not set. */
  metricsFile: string | null;
  /** Variables the config names for secrets, with the key naming each (S3 defaults not included). */
  secretVars: { name: string; key: string }[];
  /** The environment file applied (--env-file, else `env_file`), absolute; null when none. */
  envFile: string | null;
  maxAgeMs: number;
  verifyMaxAgeMs: number;
  minFreeSpace: { bytes?: number; percent?: number };
  notify: NotifyConfig;
  /** Dead-man's-switch pings: per job and per database (docs/pings.md). */
  ping: PingConfig;
  /** `timeout`: a backup or verify run stops (exit 5) once it has run this long; null: no limit. */
  timeoutMs: number | null;
  /** rotate: the global policy, for databases with no [[database]] entry. */
  retention: RetentionPolicy;
  /** rotate at a destination with its own `retention`, for databases with no [[database]] entry; by name. */
  destinationRetention: Record<string, RetentionPolicy>;
  /** IANA zone of retention's calendar periods: `timezone`, else the machine's. */
  timeZone: string;
  /** install-schedule: cron expression per job, null when disabled. */
  schedule: ScheduleConfig;
  /** `[schedule] shutdown`: install-schedule adds a systemd unit that backs up at shutdown (docs/hooks.md). */
  shutdownBackup: boolean;
  /** How new backups are encrypted (age); null: not encrypted. */
  encryption: EncryptionConfig | null;
  databases: ResolvedDatabase[];
  /** `[[database]]` entries with `glob` or `folder`, for a folder whose database is no longer found (discover.ts). */
  discovery?: { source: DiscoverySource; baseDir: string; retention?: RetentionPolicy }[];
  /** `[[destination]]`: where each backup is copied after it is complete locally. */
  destinations: ResolvedDestination[];
  /** `[hooks]`: the hooks' timeout, extra variables and global commands (docs/hooks.md). */
  hooks: HooksConfig;
}
