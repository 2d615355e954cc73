/**
 * The scheduled jobs sqlbak knows: what each runs and when by default. The
 * `[schedule]` config table sets or disables (`false` or "") each one.
 */
import { type CronExpr, parseCron } from "../model/index.ts";

export const JOB_NAMES = ["backup", "verify", "health", "report"] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** Cron expression per job; null when the job is disabled. */
export type ScheduleConfig = Record<JobName, string | null>;

/**
 * Daily backup at 02:00 (quiet hours), the weekly restore test an hour later on
 * Sunday so it sees that night's backup, and a health probe every 6 hours so a
 * missed backup is noticed the same day. The status report is off until a
 * time is set: it goes only to channels that list "report" in `[notify] on`.
 */
export const DEFAULT_SCHEDULE: ScheduleConfig = {
  backup: "0 2 * * *",
  verify: "0 3 * * 0",
  health: "0 */6 * * *",
  report: null,
};

const JOB_ARGS: Record<JobName, { args: string[]; description: string }> = {
  backup: { args: ["backup", "--rotate"], description: "back up every configured database, then rotate" },
  verify: { args: ["verify", "--random"], description: "restore test of a random backup" },
  health: { args: ["stats", "--check"], description: "health check of the backups" },
  report: { args: ["report", "--send"], description: "status report to the channels that list it" },
};

/** One job ready to render: absolute paths already resolved. */
export interface ScheduledJob {
  name: JobName;
  cron: CronExpr;
  description: string;
  /**
   * argv: the binary (and script, when not compiled), the subcommand and its
   * flags, `--config FILE` when there is a config, `--env-file PATH` when given.
   */
  argv: string[];
  /** What systemd's `OnFailure=` unit runs: `notify-failure JOB` with the same config and environment file. */
  failureArgv: string[];
}

/**
 * Given the resolved schedule (a job left out is not scheduled), the argv that starts sqlbak (absolute paths) and
 * the config path (null: none) and the environment file the jobs read
 * (null: none), return the enabled jobs in a fixed order.
 * Expressions were validated with the config, so parsing here does not fail.
 */
export function scheduledJobs(
  schedule: Partial<ScheduleConfig>,
  binary: string[],
  configFile: string | null,
  envFile: string | null = null,
): ScheduledJob[] {
  const where = [...(configFile ? ["--config", configFile] : []), ...(envFile ? ["--env-file", envFile] : [])];
  return JOB_NAMES.filter((name) => (schedule[name] ?? null) !== null).map((name) => ({
    name,
    cron: parseCron(schedule[name]!),
    description: JOB_ARGS[name].description,
    argv: [...binary, ...JOB_ARGS[name].args, ...where],
    failureArgv: [...binary, "notify-failure", name, ...where],
  }));
}
