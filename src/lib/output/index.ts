/** What sqlbak prints for people and shells: list, stats and rotation tables, completion scripts. */
export {
  type ArgDefLike,
  type CommandSpec,
  describeCommand,
  renderCompletion,
  SHELLS,
  type Shell,
} from "./completion.ts";
export { backupToJson, packFailuresOfListings, renderBackupTable } from "./list.ts";
export { METRICS_FILE_MODE, refreshMetricsFile, renderMetrics, writeMetricsFile } from "./metrics-file.ts";
export { escapeLabelValue, renderPrometheus } from "./prometheus.ts";
export { renderRotateTable, rotateToJson } from "./rotate.ts";
export { renderStats } from "./stats.ts";
