/** Renders cron, systemd, launchd and Task Scheduler entries (pure), validates and installs them. */
export { createEnvFile, defaultEnvFile, missingEnvVars, neededEnvVars } from "./env-file.ts";
export { applySchedule, targetDir } from "./install.ts";
export { planSchedule, type SchedulePlan } from "./plan.ts";
export { PLATFORMS, type Platform, renderSchedule } from "./render.ts";
export { handEnvFileTo, lookupUser, parseRunAs, type RunAs } from "./run-as.ts";
export { renderShutdownUnit, SHUTDOWN_UNIT, shutdownBackupArgv } from "./shutdown.ts";
export { type ScheduleTarget, scheduleTarget } from "./target.ts";
export { schtasksCreate } from "./windows.ts";
