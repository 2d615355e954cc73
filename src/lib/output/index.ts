/** What sqlbak prints for people and shells: list, stats and rotation tables, completion scripts. */
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
export { backupToJson, packFailuresOfListings, renderBackupTable } from "./list.ts";
export { renderRotateTable, rotateToJson } from "./rotate.ts";
export { renderStats } from "./stats.ts";
