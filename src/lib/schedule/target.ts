/**
 * Which scheduler install-schedule writes for, and at which scope: the
 * platform (detected unless given), user or system entries (system for root
 * unless told), and the user a systemd system unit runs its jobs as. The
 * combinations a scheduler has no place for are usage errors.
 */
import { existsSync } from "node:fs";
import { UsageError } from "../model/index.ts";
import type { Platform } from "./render.ts";
import { parseRunAs, type RunAs } from "./run-as.ts";

export interface ScheduleTarget {
  platform: Platform;
  /** System-wide units/daemons/tasks; false: the invoking user's. */
  system: boolean;
  /** systemd system units: the user (and group) the jobs run as instead of root. */
  runAs: RunAs | undefined;
}

/** The flags as given: `--platform`, `--user`, `--system`, `--user-name`. */
export interface TargetFlags {
  platform?: Platform;
  user?: boolean;
  system?: boolean;
  userName?: string;
}

/** launchd on macOS, Task Scheduler on Windows, systemd where it is the running init, else cron. */
export function detectPlatform(): Platform {
  if (process.platform === "darwin") return "launchd";
  if (process.platform === "win32") return "windows";
  return existsSync("/run/systemd/system") ? "systemd" : "cron";
}

/** The target the flags name (`isRoot`: the default scope is the system's). Throws UsageError for a combination that does not apply. */
export function scheduleTarget(flags: TargetFlags, isRoot: boolean): ScheduleTarget {
  if (flags.user && flags.system) throw new UsageError("choose one of --user, --system");
  const platform = flags.platform ?? detectPlatform();
  if (platform === "cron" && (flags.user || flags.system)) {
    throw new UsageError(
      "--user/--system do not apply to cron",
      "cron uses the crontab of whoever runs install-schedule; run it as root for root's crontab",
    );
  }
  const system = flags.system ? true : flags.user ? false : isRoot;
  const runAs = flags.userName === undefined ? undefined : parseRunAs(flags.userName);
  if (runAs && (platform !== "systemd" || !system))
    throw new UsageError(
      "--user-name applies to systemd system units only",
      "for cron, run install-schedule as that user (sudo -u NAME sqlbak install-schedule --apply)",
    );
  return { platform, system, runAs };
}
