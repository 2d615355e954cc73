/** Takes a backup of each database (snapshot, check, encode, store, manifest) and owns the scheduled pipeline. */
export { backupAsConfigured, defaultParallel, MAX_PARALLEL, runBackups } from "./as-configured.ts";
export type { BackupResult } from "./backup-result.ts";
export { backupNotification, copyNotification, shrinkNotification } from "./notification.ts";
export { type PagesBackupOptions, writePagesBackup } from "./pages.ts";
export type { DatabaseProgress } from "./ping.ts";
export {
  runScheduledBackup,
  type ScheduledBackupFailure,
  type ScheduledBackupOptions,
  type ScheduledBackupResult,
  scheduledBackupFailure,
} from "./pipeline.ts";
export { backupDatabase } from "./run.ts";
