/**
 * What `stats` reports: per database, what backups exist, how big, how fresh,
 * how recently and how well verified, what failed since the last success, and
 * what partial files linger; per volume, free space. Gathering is separate from
 * judging (verdict.ts), so the verdict is a pure function of this report.
 */
import type { ResolvedConfig } from "../config/index.ts";
import { configuredKeptCopies, type FolderListing, listStaging, readOpLog } from "../store/index.ts";
import { databaseStats } from "./database-stats.ts";
import { lastDeliveries } from "./deliveries.ts";
import type { StatsReport } from "./stats-report.ts";
import { volumeStats } from "./volume.ts";

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
