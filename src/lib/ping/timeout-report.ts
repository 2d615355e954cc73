/**
 * A run past its limit, recorded: the failure logged to the op log and added
 * to the run's last lines, and the report a child `sqlbak notify-failure
 * --report` sends for it (failed-run.ts) while the abandoned run is held.
 */
import type { PingJob, ResolvedConfig } from "../config/index.ts";
import { EXIT, formatSpanSetting } from "../model/index.ts";
import { appendOpLog } from "../store/index.ts";
import type { FailedRunReport } from "./failed-run.ts";
import type { RunningDatabase } from "./run-deadline.ts";
import type { LogTail } from "./tail.ts";

export function recordTimeout(
  config: ResolvedConfig,
  opts: { job: PingJob; pingJob: boolean },
  at: { limitMs: number; current: RunningDatabase | null; jobRid?: string; tail: LogTail },
): FailedRunReport {
  const { current, tail } = at;
  const where = current ? ` while backing up ${current.database}` : "";
  const error = `${opts.job} run timed out after ${formatSpanSetting(at.limitMs)}${where}; stopped`;
  const logError = appendOpLog(config.logFile, {
    op: opts.job,
    database: current?.database,
    ok: false,
    timeout: true,
    error,
  });
  tail.add(`[error] ${error}`);
  if (logError) tail.add(`[warn] ${logError}`);
  return {
    job: opts.job,
    rid: at.jobRid,
    pingJob: opts.pingJob,
    exitCode: EXIT.timeout,
    error,
    body: tail.text(),
    databases: current?.rid ? [{ name: current.database, rid: current.rid }] : [],
    database: current?.database,
  };
}
