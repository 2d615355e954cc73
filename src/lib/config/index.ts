/**
 * Defaults, then the file, then the environment, validated key by key (every problem at once) into one ResolvedConfig.
 */
export type { DirDestination, ResolvedDestination, S3Destination } from "./destinations.ts";
export type { EncryptionConfig } from "./encryption.ts";
export { adHocDatabase, loadConfig, type ResolvedConfig, type ResolvedDatabase } from "./load.ts";
export type { NotifyConfig, NotifyEvent } from "./notify.ts";
export { PING_JOBS, type PingConfig, type PingJob, type PingStyle, type PingUrl } from "./ping.ts";
export { machineTimeZone, type RetentionPolicy, UNLIMITED } from "./retention.ts";
export { JOB_NAMES, type ScheduledJob, scheduledJobs } from "./schedule.ts";
