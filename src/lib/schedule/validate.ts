/**
 * Checks, before `install-schedule --apply` writes or enables anything, that
 * the scheduler will take what sqlbak generated: systemd units through
 * `systemd-analyze verify` (on copies in a temporary folder, under their own
 * names so the timer finds its service) and every OnCalendar= through
 * `systemd-analyze calendar`; a crontab through `crontab -n FILE` where cron
 * has it (Debian's does); plists by reading them back (./plist.ts), and Task
 * Scheduler XML likewise (./task-xml.ts), before schtasks sees it. A
 * rejection throws ScheduleValidationError and the old entries stay as they are.
 * Test seam: SQLBAK_SYSTEMD_ANALYZE (command; empty skips the systemd checks).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT, SqlbakError } from "../model/index.ts";
import type { RenderedFile } from "./common.ts";
import { PlistError, type PlistValue, parsePlist } from "./plist.ts";
import { checkTaskXml, TaskXmlError } from "./task-xml.ts";

/** The scheduler would not accept a generated entry; nothing was written. */
export class ScheduleValidationError extends SqlbakError {
  constructor(message: string) {
    super(message, {
      exitCode: EXIT.usage,
      hint:
        "nothing was written or enabled and the old entries are unchanged; " +
        "a path in the config (binary, config file, folders) with unusual characters is the usual cause",
    });
  }
}

interface Ran {
  code: number;
  output: string;
}

/** Runs a checker; null when it is not installed. */
function check(argv: string[], env: NodeJS.ProcessEnv): Ran | null {
  try {
    const p = Bun.spawnSync(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode ?? 1, output: `${p.stderr.toString()}${p.stdout.toString()}`.trim() };
  } catch {
    return null;
  }
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "sqlbak-check-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The checker's complaint, without the temporary folder, on one line. */
function complaint(output: string, dir: string): string {
  return output
    .replaceAll(`${dir}/`, "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join("; ");
}

/**
 * Verifies systemd units and their OnCalendar= values; throws
 * ScheduleValidationError. Reports through `onStep` when systemd-analyze is absent.
 */
export function validateSystemdUnits(files: RenderedFile[], env: NodeJS.ProcessEnv, onStep: (m: string) => void): void {
  const analyze = env.SQLBAK_SYSTEMD_ANALYZE === undefined ? "systemd-analyze" : env.SQLBAK_SYSTEMD_ANALYZE;
  if (!analyze || files.length === 0) return;
  onStep(`checking ${files.map((f) => f.name).join(", ")} with ${analyze} verify`);
  withTempDir((dir) => {
    for (const f of files) writeFileSync(join(dir, f.name), f.content, { mode: 0o600 });
    // System mode on purpose: it checks the same syntax and, unlike --user, needs no running user manager.
    const ran = check([analyze, "verify", "--man=no", ...files.map((f) => join(dir, f.name))], env);
    if (!ran) return void onStep(`${analyze} not found: the unit files are not checked`);
    if (ran.code !== 0)
      throw new ScheduleValidationError(
        `systemd-analyze verify rejected the generated units: ${complaint(ran.output, dir)}`,
      );
    for (const f of files.filter((x) => x.name.endsWith(".timer"))) {
      for (const spec of f.content
        .split("\n")
        .filter((l) => l.startsWith("OnCalendar="))
        .map((l) => l.slice("OnCalendar=".length))) {
        const cal = check([analyze, "calendar", spec], env);
        if (cal && cal.code !== 0)
          throw new ScheduleValidationError(
            `systemd-analyze calendar rejected OnCalendar=${spec} in ${f.name}: ${complaint(cal.output, dir)}`,
          );
      }
    }
  });
}

/**
 * Checks a whole crontab with `crontab -n FILE` (a regular file: Debian's
 * crontab does not read stdin for -n); throws ScheduleValidationError. A crontab
 * without -n (cronie, busybox) is reported through `onStep` and not checked.
 */
export function validateCrontab(
  text: string,
  crontab: string[],
  env: NodeJS.ProcessEnv,
  onStep: (m: string) => void,
): void {
  withTempDir((dir) => {
    const file = join(dir, "crontab");
    writeFileSync(file, text, { mode: 0o600 });
    onStep(`checking the new crontab with ${crontab.join(" ")} -n`);
    const ran = check([...crontab, "-n", file], env);
    if (!ran) return;
    if (ran.code === 0) return;
    if (
      !/errors in crontab file/i.test(ran.output) &&
      /usage|invalid option|illegal option|unknown option/i.test(ran.output)
    ) {
      return void onStep("this crontab has no -n syntax check: the new crontab is not checked");
    }
    throw new ScheduleValidationError(`crontab -n rejected the new crontab: ${complaint(ran.output, dir)}`);
  });
}

const CALENDAR_RANGES: Record<string, [number, number]> = {
  Minute: [0, 59],
  Hour: [0, 23],
  Day: [1, 31],
  Weekday: [0, 7],
  Month: [1, 12],
};

/** Reads each plist back and checks the keys launchd needs; throws ScheduleValidationError. */
export function validatePlists(files: RenderedFile[]): void {
  for (const f of files) {
    let root: PlistValue;
    try {
      root = parsePlist(f.content);
    } catch (err) {
      if (err instanceof PlistError)
        throw new ScheduleValidationError(`${f.name} does not parse back as a property list: ${err.message}`);
      throw err;
    }
    const fail = (what: string) => {
      throw new ScheduleValidationError(`${f.name} does not parse back as a launchd job: ${what}`);
    };
    if (typeof root !== "object" || Array.isArray(root)) return fail("the top level is not a dict");
    if (root.Label !== f.name.replace(/\.plist$/, "")) fail(`Label is not "${f.name.replace(/\.plist$/, "")}"`);
    const args = root.ProgramArguments;
    if (!Array.isArray(args) || args.length === 0 || args.some((a) => typeof a !== "string" || a === ""))
      fail("ProgramArguments is not a list of strings");
    const intervals = root.StartCalendarInterval;
    if (!Array.isArray(intervals) || intervals.length === 0) return fail("StartCalendarInterval is not a list");
    for (const i of intervals) {
      if (typeof i !== "object" || Array.isArray(i)) return fail("a StartCalendarInterval entry is not a dict");
      for (const [k, v] of Object.entries(i)) {
        const range = CALENDAR_RANGES[k];
        if (!range || typeof v !== "number" || v < range[0] || v > range[1])
          fail(`StartCalendarInterval ${k} = ${String(v)} is not valid`);
      }
    }
  }
}

/** Reads each task XML back as Task Scheduler would (./task-xml.ts); throws ScheduleValidationError naming the file. */
export function validateTasks(files: RenderedFile[]): void {
  for (const f of files) {
    try {
      checkTaskXml(f.content);
    } catch (err) {
      if (err instanceof TaskXmlError)
        throw new ScheduleValidationError(`${f.name} is not a task Task Scheduler would take: ${err.message}`);
      throw err;
    }
  }
}
