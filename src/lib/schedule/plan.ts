/**
 * What install-schedule installs for a config: its enabled jobs rendered for
 * one target, with every folder a job writes made writable, the shutdown
 * backup where systemd can run it, the environment file the jobs read and the
 * variables it must hold, and the folder the entries go to.
 */
import { dirname, join } from "node:path";
import { type ResolvedConfig, type ScheduledJob, scheduledJobs } from "../config/index.ts";
import { defaultEnvFile, type NeededVar, neededEnvVars } from "./env-file.ts";
import { targetDir } from "./install.ts";
import { type Rendered, renderSchedule } from "./render.ts";
import { shutdownBackupArgv } from "./shutdown.ts";
import type { ScheduleTarget } from "./target.ts";

export interface SchedulePlan {
  /** The environment file the jobs read: the config's, else the scope's default. */
  envFile: string;
  /** The variables the config reads secrets from, which that file (or the environment) must hold. */
  needed: NeededVar[];
  jobs: ScheduledJob[];
  rendered: Rendered;
  /** Where the entries' files go; null for cron (the crontab). */
  dir: string | null;
}

/** `argv`: how the jobs call this sqlbak. */
export function planSchedule(
  config: ResolvedConfig,
  { platform, system, runAs }: ScheduleTarget,
  argv: string[],
  env: NodeJS.ProcessEnv,
): SchedulePlan {
  const envFile = config.envFile ?? defaultEnvFile(system, env);
  const needed = neededEnvVars(config);
  const jobs = scheduledJobs(config.schedule, argv, config.file, envFile);
  const rendered = renderSchedule(platform, jobs, {
    system,
    // Everything a job writes: backups, the databases' folders (WAL, restores), the log, the status page's
    // folder, and each `dir` destination.
    writablePaths: [
      ...new Set([
        config.backupDir,
        ...config.databases.map((d) => dirname(d.path)),
        dirname(config.logFile),
        ...(config.statusPage ? [dirname(config.statusPage)] : []),
        ...config.destinations.flatMap((d) => (d.type === "dir" ? [d.path] : [])),
      ]),
    ],
    logDir: system ? "/var/log" : join(env.HOME ?? "~", "Library", "Logs"),
    runAs,
    shutdownArgv:
      config.shutdownBackup && platform === "systemd" ? shutdownBackupArgv(argv, config.file, envFile) : undefined,
  });
  return { envFile, needed, jobs, rendered, dir: targetDir(platform, system, env) };
}
