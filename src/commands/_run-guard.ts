/**
 * What wraps a job's run (backup, verify, stats --check): the job's
 * dead-man's-switch pings (start, then the outcome with the run's last lines
 * as body), and its timeout. A run that hits its timeout is abandoned where it
 * is, like a killed one (docs/exit-codes.md, exit 5): the failure is logged
 * and reported at once by a child `sqlbak notify-failure --report` while this
 * process is held (spawnSync runs nothing else of this run), then cli.ts
 * exits, so nothing half-done goes on; the next run cleans up as after a kill.
 */

import type { DatabaseProgress } from "../lib/backup/index.ts";
import type { PingJob } from "../lib/config/index.ts";
import {
  describeError,
  EXIT,
  formatSpanSetting,
  parseSpanMs,
  RunTimeoutError,
  SqlbakError,
  UsageError,
} from "../lib/model/index.ts";
import { type FailedRunReport, LogTail, PingRun, pingTargetFor } from "../lib/ping/index.ts";
import { appendOpLog } from "../lib/store/index.ts";
import type { CommandContext } from "./_context.ts";
import { logger } from "./_log.ts";
import { sqlbakArgv } from "./_self.ts";

export const timeoutArgs = {
  timeout: {
    type: "string",
    description: "Stop the run (exit 5) once it has run this long, e.g. 30m (default: the config's timeout)",
    valueHint: "DURATION",
  },
} as const;

export interface GuardOptions {
  job: PingJob;
  /** Ping the job's monitor: the run is the job itself (every database, not a dry run). */
  pingJob: boolean;
  /** `--timeout` as given (absent: the config's `timeout`); false: never bounded (the health job). */
  timeout: string | undefined | false;
  /** --config, --env-file, --backup-dir as given, for the reporting child. */
  configArgs: string[];
}

/** Told where the run is, so a database's own `timeout` applies to its backup. */
export interface RunGuard {
  onDatabase(p: DatabaseProgress): void;
}

/** setTimeout takes at most a signed 32-bit delay; a longer one is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The reporting child: long enough for every channel's timeout and retry, never forever. */
const REPORT_TIMEOUT_MS = 120_000;

function exitCodeOf(err: unknown): number {
  if (err instanceof SqlbakError) return err.exitCode;
  if (err instanceof Error && err.name === "CLIError") return EXIT.usage;
  return EXIT.failed;
}

function runTimeoutMs(ctx: CommandContext, flag: string | undefined | false): number | null {
  if (flag === false) return null;
  if (flag === undefined) return ctx.config.timeoutMs;
  const ms = parseSpanMs(flag);
  if (ms === null) throw new UsageError(`--timeout takes a duration such as 30m or 2h, not "${flag}"`);
  return ms === 0 ? null : ms;
}

/** The flags that make a child sqlbak read the same config as this run. */
export function configArgsOf(args: { config?: string; "env-file"?: string; "backup-dir"?: string }): string[] {
  return (["config", "env-file", "backup-dir"] as const).flatMap((k) =>
    args[k] !== undefined ? [`--${k}`, String(args[k])] : [],
  );
}

/** Sends the report through a child while this process waits, so the abandoned work cannot go on meanwhile. */
function reportInChild(report: FailedRunReport, configArgs: string[]): void {
  const env = { ...process.env };
  delete env.SQLBAK_TEST_PAUSE_AT;
  try {
    Bun.spawnSync([...sqlbakArgv(), "notify-failure", report.job, "--report", ...configArgs], {
      env,
      stdin: Buffer.from(JSON.stringify(report)),
      stdout: "inherit",
      stderr: "inherit",
      timeout: REPORT_TIMEOUT_MS,
    });
  } catch (err) {
    // The op log already has the failure; the exit code still says it.
    logger.warn(`could not send the timeout's failure: ${describeError(err)}`);
  }
}

/**
 * A run past its limit: logs the failure, has a child send it (this process is
 * held meanwhile), and returns the error that ends the run.
 */
function abandon(
  ctx: CommandContext,
  opts: GuardOptions,
  at: { limitMs: number; current: DatabaseProgress | null; jobRid?: string; tail: LogTail },
): RunTimeoutError {
  const { current, tail } = at;
  const where = current ? ` while backing up ${current.database}` : "";
  const error = `${opts.job} run timed out after ${formatSpanSetting(at.limitMs)}${where}; stopped`;
  const logError = appendOpLog(ctx.config.logFile, {
    op: opts.job,
    database: current?.database,
    ok: false,
    timeout: true,
    error,
  });
  tail.add(`[error] ${error}`);
  if (logError) tail.add(`[warn] ${logError}`);
  const report: FailedRunReport = {
    job: opts.job,
    rid: at.jobRid,
    pingJob: opts.pingJob,
    exitCode: EXIT.timeout,
    error,
    body: tail.text(),
    databases: current?.rid ? [{ name: current.database, rid: current.rid }] : [],
    database: current?.database,
  };
  reportInChild(report, opts.configArgs);
  return new RunTimeoutError(error);
}

/**
 * Runs `work` as the job `opts.job`: pings around it and bounds it by the
 * timeout. Returns or throws what `work` does (a ping never changes that);
 * throws RunTimeoutError when the timeout hits first.
 */
export async function guardRun<T>(
  ctx: CommandContext,
  opts: GuardOptions,
  work: (guard: RunGuard) => Promise<T>,
): Promise<T> {
  const { config, logger } = ctx;
  const tail = new LogTail();
  const reporter = {
    log: (o: { type: string; args?: unknown[] }) =>
      tail.add(`[${o.type}] ${(o.args ?? []).map((a) => (a instanceof Error ? a.message : String(a))).join(" ")}`),
  };
  logger.addReporter(reporter);
  const target = opts.pingJob ? pingTargetFor(config, { job: opts.job }) : null;
  const jobPing = target ? new PingRun(config, target) : null;
  const timeoutMs = runTimeoutMs(ctx, opts.timeout);
  for (const w of jobPing ? await jobPing.start() : []) logger.warn(w);

  const runDeadline = timeoutMs === null ? null : Date.now() + timeoutMs;
  let deadline = runDeadline;
  let current: DatabaseProgress | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  let rejectTimeout: (err: Error) => void = () => {};
  const timeoutHit = new Promise<never>((_, reject) => {
    rejectTimeout = reject;
  });
  const arm = () => {
    clearTimeout(timer);
    if (deadline !== null) timer = setTimeout(fire, Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now())));
  };
  const fire = () => {
    if (deadline !== null && Date.now() < deadline) return arm();
    timedOut = true;
    const ownLimit = current && deadline !== runDeadline;
    const limit = ownLimit ? config.databases.find((d) => d.name === current!.database)?.timeoutMs : timeoutMs;
    rejectTimeout(abandon(ctx, opts, { limitMs: limit ?? 0, current, jobRid: jobPing?.rid, tail }));
  };
  arm();

  const guard: RunGuard = {
    onDatabase(p) {
      current = p.phase === "start" ? p : null;
      const own = p.phase === "start" ? config.databases.find((d) => d.name === p.database)?.timeoutMs : undefined;
      deadline =
        own === undefined
          ? runDeadline
          : runDeadline === null
            ? Date.now() + own
            : Math.min(runDeadline, Date.now() + own);
      arm();
    },
  };
  let failure: unknown;
  try {
    return await Promise.race([work(guard), timeoutHit]);
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    clearTimeout(timer);
    logger.removeReporter(reporter);
    // A timed-out run was reported by the child; anything more would be the abandoned work talking.
    if (jobPing && !timedOut) {
      const code = failure === undefined ? 0 : exitCodeOf(failure);
      const summary = failure === undefined ? `${opts.job}: ok` : describeError(failure);
      const body = tail.text() + (failure === undefined ? "" : `[error] ${summary}\n`);
      for (const w of await jobPing.finish({ exitCode: code, summary, body })) logger.warn(w);
    }
  }
}
