/** Dead-man's-switch pings (healthchecks.io, Uptime Kuma, cronitor): start, success and failure of each run. */
export { type FailedRunReport, reportFailedRun, unitFailure } from "./failed-run.ts";
export { RunDeadline, type RunningDatabase, runLimitMs } from "./run-deadline.ts";
export {
  type PingOutcome,
  type PingRequest,
  PingRun,
  type PingSignal,
  type PingTarget,
  pingRequest,
  pingTargetFor,
  sendPing,
} from "./send.ts";
export { LogTail, MAX_PING_BODY_BYTES } from "./tail.ts";
export { recordTimeout } from "./timeout-report.ts";
