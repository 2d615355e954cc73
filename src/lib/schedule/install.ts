/**
 * Side effects of install-schedule: where each platform keeps its entries,
 * writing them idempotently (a file whose content is unchanged is not
 * rewritten), and telling the scheduler. Each step is reported through
 * `onStep` before it happens. Test seams, all environment variables:
 * SQLBAK_CRONTAB (crontab command), SQLBAK_SYSTEMD_DIR / SQLBAK_LAUNCHD_DIR /
 * SQLBAK_TASKS_DIR (target folder), SQLBAK_SYSTEMCTL / SQLBAK_LAUNCHCTL
 * (command; empty skips it), SQLBAK_SYSTEMD_ANALYZE (likewise). Before
 * anything is written, enabled or registered (schtasks), the new entries are
 * checked (./validate.ts); a rejection leaves the old ones alone.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { JOB_NAMES } from "../config/index.ts";
import { OperationError } from "../model/index.ts";
import { type Platform, type Rendered, spliceCronBlock } from "./render.ts";
import { SHUTDOWN_UNIT } from "./shutdown.ts";
import { validateCrontab, validatePlists, validateSystemdUnits, validateTasks } from "./validate.ts";

export interface InstallOptions {
  system: boolean;
  env: NodeJS.ProcessEnv;
  onStep: (message: string) => void;
  /** Runs once the new entries have passed validation, before anything is written or enabled. */
  onValidated?: () => void;
}

export interface InstallResult {
  /** Files written or removed, and whether the crontab changed. */
  changed: string[];
  /** Commands the user still has to run (Windows, when not on Windows). */
  todo: string[];
}

/**
 * The folder a platform's entries go to: the user's (systemd user units,
 * LaunchAgents) or the system's. Null for cron, which has no folder.
 */
export function targetDir(platform: Platform, system: boolean, env: NodeJS.ProcessEnv): string | null {
  const home = env.HOME || homedir();
  switch (platform) {
    case "cron":
      return null;
    case "systemd":
      return (
        env.SQLBAK_SYSTEMD_DIR ||
        (system ? "/etc/systemd/system" : join(env.XDG_CONFIG_HOME || join(home, ".config"), "systemd", "user"))
      );
    case "launchd":
      return env.SQLBAK_LAUNCHD_DIR || (system ? "/Library/LaunchDaemons" : join(home, "Library", "LaunchAgents"));
    case "windows":
      return env.SQLBAK_TASKS_DIR || join(env.LOCALAPPDATA || join(home, ".local", "share"), "sqlbak", "tasks");
  }
}

function run(argv: string[], opts: InstallOptions, input?: string, allowFail = false): string {
  const proc = Bun.spawnSync(argv, {
    env: opts.env,
    stdin: input === undefined ? "ignore" : Buffer.from(input),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (proc.exitCode !== 0 && !allowFail) {
    throw new OperationError(`${argv.join(" ")} failed (exit ${proc.exitCode}): ${proc.stderr.toString().trim()}`);
  }
  return proc.exitCode === 0 ? proc.stdout.toString() : "";
}

/** `SQLBAK_CRONTAB` may carry arguments (e.g. `crontab -u backup`); empty means the default. */
function crontabCommand(env: NodeJS.ProcessEnv): string[] {
  return (env.SQLBAK_CRONTAB || "crontab").split(/\s+/).filter(Boolean);
}

function updateCrontab(block: string | null, opts: InstallOptions): InstallResult {
  const crontab = crontabCommand(opts.env);
  // `crontab -l` exits 1 when the user has no crontab yet: that is an empty one.
  const current = run([...crontab, "-l"], opts, undefined, true);
  const next = spliceCronBlock(current, block);
  if (next === current) {
    opts.onValidated?.();
    opts.onStep("crontab already up to date");
    return { changed: [], todo: [] };
  }
  if (block !== null) validateCrontab(next, crontab, opts.env, opts.onStep);
  opts.onValidated?.();
  opts.onStep(
    block === null ? "removing the sqlbak block from the crontab" : "writing the sqlbak block into the crontab",
  );
  run([...crontab, "-"], opts, next);
  return { changed: ["crontab"], todo: [] };
}

function writeIfChanged(path: string, content: string, opts: InstallOptions): boolean {
  if (existsSync(path) && readFileSync(path, "utf8") === content) return false;
  opts.onStep(`writing ${path}`);
  writeFileSync(path, content, { mode: 0o644 });
  return true;
}

/** Our files for jobs that are no longer scheduled (disabled in [schedule] since the last --apply). */
function staleFiles(dir: string, platform: Platform, keep: string[]): string[] {
  const names = JOB_NAMES.flatMap((j) =>
    platform === "systemd"
      ? [`sqlbak-${j}.timer`, `sqlbak-${j}.service`, `sqlbak-${j}-failure.service`]
      : platform === "launchd"
        ? [`io.sqlbak.${j}.plist`]
        : [`sqlbak-${j}.xml`],
  );
  if (platform === "systemd") names.push(SHUTDOWN_UNIT);
  return names.filter((n) => !keep.includes(n) && existsSync(join(dir, n)));
}

function tool(name: "SQLBAK_SYSTEMCTL" | "SQLBAK_LAUNCHCTL", fallback: string, env: NodeJS.ProcessEnv): string | null {
  const v = env[name];
  return v === undefined ? fallback : v === "" ? null : v;
}

interface Step {
  argv: string[];
  /** Stopping something that may not be loaded: failure is expected and harmless. */
  mayFail?: boolean;
}

/** Scheduler commands: `stop` runs before stale files are removed, `start` after the files are in place. */
function schedulerSteps(
  platform: Platform,
  dir: string,
  current: string[],
  removed: string[],
  opts: InstallOptions,
): { stop: Step[]; start: Step[] } {
  if (platform === "systemd") {
    const ctl = tool("SQLBAK_SYSTEMCTL", "systemctl", opts.env);
    if (!ctl) return { stop: [], start: [] };
    const base = opts.system ? [ctl] : [ctl, "--user"];
    // The shutdown unit is started like a timer: stopping it (at shutdown, or here when removed) runs its backup.
    const timers = (list: string[]) => list.filter((n) => n.endsWith(".timer") || n === SHUTDOWN_UNIT);
    const stop = timers(removed).length
      ? [{ argv: [...base, "disable", "--now", ...timers(removed)], mayFail: true }]
      : [];
    const enable = timers(current).length ? [{ argv: [...base, "enable", "--now", ...timers(current)] }] : [];
    return { stop, start: [{ argv: [...base, "daemon-reload"] }, ...enable] };
  }
  if (platform === "launchd") {
    const ctl = tool("SQLBAK_LAUNCHCTL", "launchctl", opts.env);
    if (!ctl) return { stop: [], start: [] };
    const domain = opts.system ? "system" : `gui/${process.getuid?.() ?? 0}`;
    // bootout everything first so a changed plist is reloaded; it fails harmlessly for a job not loaded.
    const stop = [...removed, ...current].map((n) => ({
      argv: [ctl, "bootout", `${domain}/${n.replace(/\.plist$/, "")}`],
      mayFail: true,
    }));
    return { stop, start: current.map((n) => ({ argv: [ctl, "bootstrap", domain, join(dir, n)] })) };
  }
  if (platform === "windows") {
    const task = (n: string) => `\\sqlbak\\${n.replace(/^sqlbak-/, "").replace(/\.xml$/, "")}`;
    return {
      stop: removed.map((n) => ({ argv: ["schtasks", "/Delete", "/TN", task(n), "/F"], mayFail: true })),
      start: current.map((n) => ({ argv: ["schtasks", "/Create", "/XML", join(dir, n), "/TN", task(n), "/F"] })),
    };
  }
  return { stop: [], start: [] };
}

/**
 * Installs the rendered entries for a platform, or with `uninstall` removes
 * sqlbak's own. Re-running with the same input changes nothing; entries that
 * are not sqlbak's are never touched. Windows commands run only on Windows;
 * elsewhere they are returned in `todo`.
 */
export function applySchedule(rendered: Rendered, uninstall: boolean, opts: InstallOptions): InstallResult {
  const { platform } = rendered;
  if (platform === "cron") return updateCrontab(uninstall ? null : rendered.cronBlock!, opts);
  const dir = targetDir(platform, opts.system, opts.env)!;
  const files = uninstall ? [] : rendered.files;
  if (platform === "systemd") validateSystemdUnits(files, opts.env, opts.onStep);
  if (platform === "launchd") validatePlists(files);
  if (platform === "windows") validateTasks(files);
  opts.onValidated?.();
  if (files.length) mkdirSync(dir, { recursive: true });
  const changed = files.filter((f) => writeIfChanged(join(dir, f.name), f.content, opts)).map((f) => join(dir, f.name));
  const removed = existsSync(dir)
    ? staleFiles(
        dir,
        platform,
        files.map((f) => f.name),
      )
    : [];
  const steps = schedulerSteps(
    platform,
    dir,
    files.map((f) => f.name),
    removed,
    opts,
  );
  const todo: string[] = [];
  const exec = (step: Step) => {
    if (platform === "windows" && process.platform !== "win32")
      return void todo.push(step.argv.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(" "));
    opts.onStep(`running ${step.argv.join(" ")}`);
    run(step.argv, opts, undefined, step.mayFail);
  };
  steps.stop.forEach(exec);
  for (const name of removed) {
    opts.onStep(`removing ${join(dir, name)}`);
    rmSync(join(dir, name), { force: true });
  }
  steps.start.forEach(exec);
  return { changed: [...changed, ...removed.map((n) => join(dir, n))], todo };
}
