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
import { describeError, EXIT, RunTimeoutError, SqlbakError } from "../lib/model/index.ts";
import {
  type FailedRunReport,
  LogTail,
  PingRun,
  pingTargetFor,
  RunDeadline,
  recordTimeout,
  runLimitMs,
} from "../lib/ping/index.ts";
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
function abandon(ctx: CommandContext, opts: GuardOptions, at: Parameters<typeof recordTimeout>[2]): RunTimeoutError {
  const report = recordTimeout(ctx.config, opts, at);
  reportInChild(report, opts.configArgs);
  return new RunTimeoutError(report.error);
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
  private limits: RunDeadline | null = null;
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
    const limitMs = runLimitMs(opts.timeout, ctx.config.timeoutMs);
    const target = opts.pingJob ? pingTargetFor(ctx.config, { job: opts.job }) : null;
    this.jobPing = target ? new PingRun(ctx.config, target) : null;
    for (const w of this.jobPing ? await this.jobPing.start() : []) ctx.logger.warn(w);
    this.limits = new RunDeadline(limitMs, (name) => ctx.config.databases.find((d) => d.name === name)?.timeoutMs);
    this.arm();
  }

  onDatabase(p: DatabaseProgress): void {
    if (!this.ctx || !this.limits) return;
    this.limits.onDatabase(p);
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    const deadline = this.limits?.deadline ?? null;
    if (deadline === null) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now()));
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    const limits = this.limits!;
    if (limits.deadline !== null && Date.now() < limits.deadline) return this.arm();
    this.timedOut = true;
    const { current } = limits;
    const at = { limitMs: limits.limitMs() ?? 0, current, jobRid: this.jobPing?.rid, tail: this.tail };
    this.rejectTimeout(abandon(this.ctx!, this.opts!, at));
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
