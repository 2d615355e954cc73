/** The settings a config file need not give, and the compression levels each codec allows. */
import type { Compression } from "../model/index.ts";
import type { ConfigFile } from "./config-file.ts";

/** zstd level 3 is zstd's own default: a good ratio at several hundred MB/s per core. */
export const DEFAULT_LEVEL: Record<Compression, number> = { zstd: 3, gzip: 6, none: 0 };
export const MAX_LEVEL: Record<Compression, number> = { zstd: 19, gzip: 9, none: 0 };

/**
 * Long enough for a previous scheduled backup of a multi-GiB database to finish,
 * short enough that a stuck run is reported within one cron interval.
 */
export const DEFAULT_LOCK_TIMEOUT = "2m";

/**
 * max_age 26h: a daily backup plus two hours of slack. verify_max_age 8d: the
 * default schedule verifies weekly. min_free_space 5%: room for the next run.
 * incremental true: each backup stores only the pages not already stored;
 * `incremental = false` keeps self-contained files that `age -d | zstd -d` alone restores.
 */
export function defaults(): ConfigFile {
  return {
    backup_dir: "./backups",
    compression: "zstd",
    check: "quick",
    snapshot_method: "pages",
    incremental: true,
    pre_restore: "keep",
    lock_timeout: DEFAULT_LOCK_TIMEOUT,
    max_age: "26h",
    verify_max_age: "8d",
    min_free_space: "5%",
  };
}
