/**
 * Pure rendering of scheduler entries: the crontab block here, systemd units,
 * launchd plists and Task Scheduler XML in their own modules. Nothing here
 * touches the file system or the clock, so every output is snapshot-tested.
 * An expression a platform cannot express exactly is refused, never approximated.
 */

import type { ScheduledJob } from "../config/index.ts";
import { type RenderedFile, type RenderOptions, UnsupportedScheduleError } from "./common.ts";
import { renderLaunchd } from "./launchd.ts";
import { renderShutdownUnit } from "./shutdown.ts";
import { renderSystemd } from "./systemd.ts";
import { renderWindows } from "./windows.ts";

export { type RenderedFile, type RenderOptions, UnsupportedScheduleError };

export const PLATFORMS = ["cron", "systemd", "launchd", "windows"] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface Rendered {
  platform: Platform;
  files: RenderedFile[];
  /** cron only: the block that goes into the crontab. */
  cronBlock?: string;
}

export const CRON_BEGIN = "# BEGIN sqlbak (managed by sqlbak install-schedule)";
export const CRON_END = "# END sqlbak";

/** POSIX shell quoting, only where needed, so the common case stays readable. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Given the enabled jobs, return the marked crontab block (BEGIN/END lines
 * included, newline-terminated). `%` is escaped because cron turns it into a
 * newline; `--quiet` because cron mails any output, and only problems should mail.
 */
export function renderCronBlock(jobs: ScheduledJob[]): string {
  const lines = [
    CRON_BEGIN,
    "# Re-run `sqlbak install-schedule --apply` after changing [schedule]; edits here are replaced.",
  ];
  for (const job of jobs) {
    if (job.argv.some((a) => /[\n\r]/.test(a)))
      throw new UnsupportedScheduleError("a path contains a line break", "move the binary or config to a plain path");
    const command = [...job.argv, "--quiet"].map(shellQuote).join(" ").replaceAll("%", "\\%");
    lines.push(`# ${job.name}: ${job.description}`, `${job.cron.source} ${command}`);
  }
  lines.push(CRON_END);
  return `${lines.join("\n")}\n`;
}

/**
 * Given the jobs and options, render every file (or the crontab block) for `platform`; throws UnsupportedScheduleError.
 */
export function renderSchedule(platform: Platform, jobs: ScheduledJob[], opts: RenderOptions): Rendered {
  switch (platform) {
    case "cron":
      return { platform, files: [], cronBlock: renderCronBlock(jobs) };
    case "systemd":
      return {
        platform,
        files: [
          ...jobs.flatMap((j) => renderSystemd(j, opts)),
          ...(opts.shutdownArgv ? [renderShutdownUnit(opts.shutdownArgv, opts)] : []),
        ],
      };
    case "launchd":
      return { platform, files: jobs.map((j) => renderLaunchd(j, opts)) };
    case "windows":
      return { platform, files: jobs.map((j) => renderWindows(j, opts)) };
  }
}

/**
 * Splices `block` into a crontab in place of an existing sqlbak block (or
 * appends it), leaving every other line byte-for-byte alone; `block` null
 * removes ours. Returns the new crontab text.
 */
export function spliceCronBlock(crontab: string, block: string | null): string {
  const lines = crontab === "" ? [] : crontab.replace(/\n$/, "").split("\n");
  const begin = lines.indexOf(CRON_BEGIN);
  const end = begin < 0 ? -1 : lines.indexOf(CRON_END, begin);
  const blockLines = block === null ? [] : block.replace(/\n$/, "").split("\n");
  let out: string[];
  if (begin >= 0 && end >= 0) out = [...lines.slice(0, begin), ...blockLines, ...lines.slice(end + 1)];
  else out = [...lines, ...blockLines];
  return out.length ? `${out.join("\n")}\n` : "";
}
