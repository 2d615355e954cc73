/**
 * What sqlbak prints for people, shells, scripts and Prometheus: list, stats and rotation tables, the `--json`
 * envelope and shapes, completion scripts, metrics.
 */
export {
  type ArgDefLike,
  type CommandSpec,
  describeCommand,
  renderCompletion,
  SHELLS,
  type Shell,
} from "./completion.ts";
export { renderStatusPage, type StatusPageInput, writeStatusPage } from "./html.ts";
export { esc as escapeHtml } from "./html-escape.ts";
export { ERROR_KINDS, type ErrorJson, type ErrorKind, errorToJson, type JsonFields, jsonOutput } from "./json.ts";
export { backupToJson, keptCopyToJson, packFailuresOfListings, renderBackupTable } from "./list.ts";
export { type ManArg, type ManCommand, type ManPageInput, parseExitCodes, renderManPage } from "./man.ts";
export { refreshMetricsFile, renderMetrics } from "./metrics-file.ts";
export { backupResultToJson, restoreResultToJson, verifyResultToJson } from "./results-json.ts";
export { renderRotateTable, rotateToJson } from "./rotate.ts";
export { renderStats } from "./stats.ts";
