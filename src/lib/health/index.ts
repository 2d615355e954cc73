/** Stats of every backup folder and destination, and the pure verdict behind `stats --check`. */
export { type ChannelDelivery, deliveryProblems } from "./deliveries.ts";
export { healthNotifications, healthScope } from "./notification.ts";
export { type BackupRef, type DestinationStats, gatherDestinationStats } from "./remote.ts";
export {
  buildReport,
  DEFAULT_REPORT_DAYS,
  type ReportFacts,
  type ReportInput,
  reportFacts,
  type StatusReport,
} from "./report.ts";
export { gatherReport, type ReportDelivery, reportChannels, sendReport } from "./report-run.ts";
export { gatherStats } from "./stats.ts";
export type { DatabaseStats, StatsReport } from "./stats-report.ts";
export { checkHealth } from "./verdict.ts";
