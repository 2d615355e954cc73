/**
 * Defaults, then the file, then the environment, validated key by key (every problem at once) into one ResolvedConfig.
 */

export { adHocDatabase } from "./databases.ts";
export type { DirDestination, RcloneDestination, ResolvedDestination, S3Destination } from "./destinations.ts";
export { belongsTo } from "./discover.ts";
export type { EncryptionConfig } from "./encryption.ts";
export { type DatabaseHooks, HOOK_EVENTS, type HookEvent, type HooksConfig } from "./hooks.ts";
export { loadConfig } from "./load.ts";
export {
  type ChannelConfig,
  type CommandChannel,
  DEFAULT_EVENTS,
  type EmailChannel,
  EVENT_ALIASES,
  EVENT_TYPES,
  type EventType,
  type HookChannel,
  type NotifyConfig,
  type NotifyEvent,
  type NtfyChannel,
  type SmtpSettings,
} from "./notify.ts";
export { PING_JOBS, type PingConfig, type PingJob, type PingStyle, type PingUrl } from "./ping.ts";
export type { ResolvedConfig, ResolvedDatabase } from "./resolved.ts";
export { machineTimeZone, type RetentionPolicy, UNLIMITED } from "./retention.ts";
export { JOB_NAMES, type JobName, type ScheduledJob, scheduledJobs } from "./schedule.ts";
