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
 * One run of a job: `begin()` once the run knows what it is (sends the start
 * ping, arms the timeout), `onDatabase()` as its backups start and end (a
 * database's own `timeout`), `end()` with how it ended (the end ping). A run
 * that never began pings nothing.
 */
export class RunGuard {
  private ctx: CommandContext | null = null;
  private opts: GuardOptions | null = null;
  private readonly tail = new LogTail();
  private readonly reporter = {
    log: (o: { type: string; args?: unknown[] }) =>
      this.tail.add(`[${o.type}] ${(o.args ?? []).map((a) => (a instanceof Error ? a.message : String(a))).join(" ")}`),
  };
  private jobPing: PingRun | null = null;
  private timeoutMs: number | null = null;
  private runDeadline: number | null = null;
  private deadline: number | null = null;
  private current: DatabaseProgress | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timedOut = false;
  private rejectTimeout: (err: Error) => void = () => {};
  /** Rejects with RunTimeoutError when the limit is hit first. */
  readonly timeoutHit = new Promise<never>((_, reject) => {
    this.rejectTimeout = reject;
  });

  async begin(ctx: CommandContext, opts: GuardOptions): Promise<void> {
    this.ctx = ctx;
    this.opts = opts;
    ctx.logger.addReporter(this.reporter);
    this.timeoutMs = runTimeoutMs(ctx, opts.timeout);
    const target = opts.pingJob ? pingTargetFor(ctx.config, { job: opts.job }) : null;
    this.jobPing = target ? new PingRun(ctx.config, target) : null;
    for (const w of this.jobPing ? await this.jobPing.start() : []) ctx.logger.warn(w);
    this.runDeadline = this.timeoutMs === null ? null : Date.now() + this.timeoutMs;
    this.deadline = this.runDeadline;
    this.arm();
  }

  /** Databases backing up now (several under `backup --parallel`), each with its own deadline if it has a `timeout`. */
  private readonly active = new Map<string, { p: DatabaseProgress; deadline: number | null }>();

  onDatabase(p: DatabaseProgress): void {
    if (!this.ctx) return;
    const own =
      p.phase === "start" ? this.ctx.config.databases.find((d) => d.name === p.database)?.timeoutMs : undefined;
    if (p.phase === "start") this.active.set(p.database, { p, deadline: own === undefined ? null : Date.now() + own });
    else this.active.delete(p.database);
    // The one whose limit comes first is the one a timeout names.
    let first: { p: DatabaseProgress; deadline: number | null } | null = null;
    for (const a of this.active.values())
      if (!first || (a.deadline ?? Infinity) < (first.deadline ?? Infinity)) first = a;
    this.current = first?.p ?? null;
    const runDeadline = this.runDeadline;
    this.deadline =
      first?.deadline == null ? runDeadline : Math.min(runDeadline ?? Number.POSITIVE_INFINITY, first.deadline);
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.deadline === null) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, this.deadline - Date.now()));
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    if (this.deadline !== null && Date.now() < this.deadline) return this.arm();
    this.timedOut = true;
    const { ctx, opts, current } = this;
    const ownLimit = current && this.deadline !== this.runDeadline;
    const limit = ownLimit
      ? ctx!.config.databases.find((d) => d.name === current!.database)?.timeoutMs
      : this.timeoutMs;
    this.rejectTimeout(
      abandon(ctx!, opts!, { limitMs: limit ?? 0, current, jobRid: this.jobPing?.rid, tail: this.tail }),
    );
  }

  /** After the run: the end ping with its outcome (none after a timeout: the child sent it). */
  async end(failure: unknown): Promise<void> {
    clearTimeout(this.timer);
    if (!this.ctx) return;
    this.ctx.logger.removeReporter(this.reporter);
    if (!this.jobPing || this.timedOut) return;
    const job = this.opts!.job;
    const code = failure === undefined ? 0 : exitCodeOf(failure);
    const summary = failure === undefined ? `${job}: ok` : describeError(failure);
    const body = this.tail.text() + (failure === undefined ? "" : `[error] ${summary}\n`);
    for (const w of await this.jobPing.finish({ exitCode: code, summary, body })) this.ctx.logger.warn(w);
  }
}

/**
 * A command's `run` as one guarded run: what `run` returns or throws stands (a
 * ping never changes it), unless its timeout hits first (RunTimeoutError).
 */
export function guarded<C>(run: (context: C, guard: RunGuard) => Promise<void>): (context: C) => Promise<void> {
  return async (context) => {
    const guard = new RunGuard();
    let failure: unknown;
    try {
      await Promise.race([run(context, guard), guard.timeoutHit]);
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      await guard.end(failure);
    }
  };
}
