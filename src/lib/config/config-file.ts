/** A config file as written (the TOML keys, paths still relative), once schema.ts has checked it. */
import type { CheckLevel, Compression, SnapshotMethodName } from "../model/index.ts";
import type { DestinationEntry } from "./destinations.ts";
import type { EncryptionEntry } from "./encryption.ts";
import type { HooksEntry } from "./hooks.ts";
import type { NotifyEntry } from "./notify-schema.ts";
import type { PingEntry } from "./ping.ts";
import type { RetentionEntry } from "./retention.ts";
import type { JobName } from "./schedule.ts";

/** A config file as written, after validation (paths still relative). */
export interface ConfigFile {
  backup_dir?: string;
  compression?: Compression;
  compression_level?: number;
  check?: CheckLevel;
  snapshot_method?: SnapshotMethodName;
  /** Page-level incremental backups (packs and a page map) instead of one self-contained file. */
  incremental?: boolean;
  /** restore's safety copy of the replaced database by default: keep the file itself, or take a backup. */
  pre_restore?: PreRestoreMode;
  lock_timeout?: string;
  log_file?: string;
  /** The HTML status page `stats --check` (the scheduled health job) rewrites; see docs/status-page.md. */
  status_page?: string;
  /** Prometheus textfile-collector file rewritten after every run (name ends in `.prom`). */
  metrics_file?: string;
  /** KEY=value file (0600, owned by the running user) filling in variables the environment lacks. */
  env_file?: string;
  max_age?: string;
  verify_max_age?: string;
  min_free_space?: string;
  notify?: NotifyEntry;
  /** Dead-man's-switch pings per job (src/lib/config/ping.ts). */
  ping?: PingEntry;
  /** backup / verify: a run stops (exit 5) once it has run this long. */
  timeout?: string;
  /** rotate: the global retention policy; `[[database]]` entries may override it key by key. */
  retention?: RetentionEntry;
  /** IANA zone for retention's calendar periods (default: the machine's). */
  timezone?: string;
  /** install-schedule: a cron expression per job, or false / "" to disable it; `shutdown`: a backup at shutdown. */
  schedule?: Partial<Record<JobName, string | false>> & { shutdown?: boolean };
  /** age encryption of new backups: recipients or a passphrase from the environment. */
  encryption?: EncryptionEntry;
  database?: DatabaseEntry[];
  /** Copies beyond backup_dir (src/lib/config/destinations.ts). */
  destination?: DestinationEntry[];
  /** Commands run before and after each backup (src/lib/config/hooks.ts). */
  hooks?: HooksEntry;
}

export interface DatabaseEntry {
  name?: string;
  /** The live file; "" when the entry discovers its files (`glob` or `folder`, src/lib/config/discover.ts). */
  path: string;
  glob?: string;
  folder?: string;
  probes?: string[];
  check?: CheckLevel;
  snapshot_method?: SnapshotMethodName;
  incremental?: boolean;
  pre_restore?: PreRestoreMode;
  compression?: Compression;
  compression_level?: number;
  max_age?: string;
  verify_max_age?: string;
  retention?: RetentionEntry;
  /** This database's own ping URL, or the variable holding it. */
  ping?: string;
  ping_env?: string;
  /** Its backup stops the run (exit 5) once it has run this long. */
  timeout?: string;
  /** Its own hook commands, replacing the global ones event by event. */
  hooks?: HooksEntry;
}

/** restore's safety copy: `keep` the replaced file beside it (when it can), or a pre-restore `backup` (docs/restore.md). */
export const PRE_RESTORE_MODES = ["keep", "backup"] as const;
export type PreRestoreMode = (typeof PRE_RESTORE_MODES)[number];
