/**
 * A run that ended without saying so itself: one stopped by its timeout (the
 * work abandoned, so the report is sent by a child process while the run is
 * frozen), or a systemd job that was killed (its `OnFailure=` unit). Sends the
 * failure through the notification channels and `/fail` to the monitors.
 */
import type { JobName, ResolvedConfig } from "../config/index.ts";
import { makeNotification, sendNotifications } from "../notify/index.ts";
import { PingRun, pingTargetFor } from "./send.ts";

export interface FailedRunReport {
  /** Any scheduled job; only backup, verify and health have a monitor to ping. */
  job: JobName;
  /** The job ping's run id when the run sent a start; absent: a fresh one. */
  rid?: string;
  /** Absent: the run was killed, so it has none. */
  exitCode?: number;
  /** One line: what happened. */
  error: string;
  /** The run's last lines of output (the ping body). */
  body: string;
  /** Databases whose own monitor got a start ping from this run, with that run id. */
  databases: { name: string; rid: string }[];
  /** The database the run was working on, for the notification. */
  database?: string;
  /** false: the run was not the job (`backup NAME`), so the job's monitor is left alone. */
  pingJob?: boolean;
}

/** The event a job's failure is (docs/events.md). */
const FAILURE_EVENT = {
  backup: "backup.failure",
  verify: "verify.failure",
  health: "health.problem",
  // A weekly report that did not go out: no event of its own, but one an admin must hear.
  report: "health.problem",
} as const satisfies Record<JobName, string>;

/** Sends the failure event and the `/fail` pings; returns one warning per channel or monitor that failed. */
export async function reportFailedRun(config: ResolvedConfig, r: FailedRunReport): Promise<string[]> {
  const note = makeNotification({
    event: FAILURE_EVENT[r.job],
    title: `sqlbak: ${r.job} run FAILED${r.database ? ` (${r.database})` : ""}`,
    message: `The sqlbak ${r.job} run on this host failed: ${r.error}`,
    database: r.database,
    error: r.error,
  });
  const warnings = await sendNotifications(config, [note]);
  const outcome = { exitCode: r.exitCode ?? null, summary: r.error, body: r.body };
  // The database's monitor first, then the job's: the order of a run that ends by itself.
  for (const d of r.databases) {
    const target = pingTargetFor(config, { database: d.name });
    if (target) warnings.push(...(await new PingRun(config, target, d.rid).finish(outcome)));
  }
  const job = r.job === "report" ? null : pingTargetFor(config, { job: r.job });
  if (job && r.pingJob !== false) warnings.push(...(await new PingRun(config, job, r.rid).finish(outcome)));
  return warnings;
}

/**
 * Exit codes with which sqlbak itself has already sent its failure events
 * (a failed backup or verify, an unhealthy check, a lock, a timeout): a
 * systemd `OnFailure=` unit must not send them twice.
 */
const REPORTED_EXIT_CODES = new Set(["1", "3", "4", "5"]);

/**
 * Given the environment systemd (251 and later) gives an `OnFailure=` unit
 * (MONITOR_SERVICE_RESULT, MONITOR_EXIT_CODE, MONITOR_EXIT_STATUS,
 * MONITOR_UNIT), return the report to send for `job`, or null when sqlbak
 * ended the run itself with one of its own failure codes and has reported it.
 * Without those variables (an older systemd), the failure is reported.
 */
export function unitFailure(job: JobName, env: NodeJS.ProcessEnv): FailedRunReport | null {
  const result = env.MONITOR_SERVICE_RESULT;
  const how = env.MONITOR_EXIT_CODE;
  const status = env.MONITOR_EXIT_STATUS;
  if (how === "exited" && status !== undefined && REPORTED_EXIT_CODES.has(status)) return null;
  const unit = env.MONITOR_UNIT ?? `sqlbak-${job}.service`;
  const why =
    how === "killed" || how === "dumped"
      ? `was killed by signal ${status ?? "?"}`
      : how === "exited"
        ? `exited with status ${status}`
        : "failed";
  const error = `${unit} ${why}${result && result !== "exit-code" ? ` (systemd: ${result})` : ""} before sqlbak could report it`;
  const code = how === "exited" && status !== undefined && /^\d+$/.test(status) ? Number(status) : undefined;
  return {
    job,
    exitCode: code,
    error,
    body: `${error}\nsee: journalctl -u ${unit}\n`,
    databases: [],
  };
}
