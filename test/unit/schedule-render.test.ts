/**
 * Scheduler rendering: golden output per platform, the refusals, and the real
 * validators (systemd-analyze, crontab -n, python's plistlib, xmllint) where installed.
 */
import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { scheduledJobs } from "../../src/lib/config/schedule.ts";
import { nextRuns, parseCron } from "../../src/lib/model/cron.ts";
import { toCalendarIntervals } from "../../src/lib/schedule/launchd.ts";
import { type Platform, type RenderOptions, renderSchedule, spliceCronBlock } from "../../src/lib/schedule/render.ts";
import { toOnCalendar } from "../../src/lib/schedule/systemd.ts";
import { toCalendarTriggers } from "../../src/lib/schedule/windows.ts";
import { systemdVerify } from "../helpers/systemd-verify.ts";
import { tempDir } from "../helpers/tmp.ts";

// Run times are compared in UTC with systemd-analyze; fix the zone for this file.
process.env.TZ = "UTC";

const EXPRESSIONS = [
  "0 2 * * *",
  "0 3 * * 0",
  "0 */6 * * *",
  "*/15 * * * *",
  "30 9-17 * * mon-fri",
  "0 0 1,15 * *",
  "0 12 1 jan,jul *",
  "5 4 * * 7",
  "0 0 13 * fri",
  "10-20/5 8 * * *",
  "0 9,17 * * sat,sun",
  "@weekly",
];
const OPTS: RenderOptions = {
  system: true,
  writablePaths: ["/var/backups/sqlbak", "/var/lib/app"],
  logDir: "/var/log",
};
const BIN = ["/usr/local/bin/sqlbak"];
const jobsFor = (cron: string) =>
  scheduledJobs({ backup: cron, verify: null, health: null }, BIN, "/etc/sqlbak/config.toml");
const have = (cmd: string) => Bun.which(cmd) !== null;
const BASE = new Date(Date.UTC(2026, 10, 20, 12, 0));
const iso = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ");

describe("renderSchedule golden output", () => {
  it.each(["cron", "systemd", "launchd", "windows"] as Platform[])("%s, default schedule", (platform) => {
    const jobs = scheduledJobs(
      { backup: "0 2 * * *", verify: "0 3 * * 0", health: "0 */6 * * *" },
      BIN,
      "/etc/sqlbak/config.toml",
    );
    const r = renderSchedule(platform, jobs, OPTS);
    expect(r.cronBlock ?? r.files.map((f) => `==> ${f.name}\n${f.content}`).join("\n")).toMatchSnapshot();
  });

  it("user systemd units carry no sandbox options that need user namespaces", () => {
    const [service] = renderSchedule("systemd", jobsFor("0 2 * * *"), { ...OPTS, system: false }).files;
    expect(service!.content).toMatchSnapshot();
    expect(service!.content).not.toContain("ProtectSystem");
  });

  it("quotes awkward paths for each platform", () => {
    const jobs = scheduledJobs(
      { backup: "0 2 * * *", verify: null, health: null },
      ["/opt/my apps/sqlbak"],
      "/etc/sq%lbak/it's.toml",
    );
    const out = (["cron", "systemd", "launchd", "windows"] as Platform[]).map((p) => {
      const r = renderSchedule(p, jobs, OPTS);
      return r.cronBlock ?? r.files[0]!.content;
    });
    expect(out.join("\n-----\n")).toMatchSnapshot();
  });

  it.each(EXPRESSIONS)("converts %p for every platform", (cron) => {
    const e = parseCron(cron);
    expect({
      onCalendar: toOnCalendar(e),
      launchd: toCalendarIntervals(e),
      windows: toCalendarTriggers(e),
    }).toMatchSnapshot();
  });
});

describe("refusals", () => {
  it("launchd refuses more than 100 calendar entries", () => {
    expect(() => toCalendarIntervals(parseCron("*/5 0-12 * * *"))).toThrow(
      'launchd: "*/5 0-12 * * *" needs 156 StartCalendarInterval entries (at most 100)',
    );
  });
  it("launchd and windows refuse a day of month AND a weekday", () => {
    expect(() => toCalendarIntervals(parseCron("0 0 */2 * 1"))).toThrow(
      'launchd: "0 0 */2 * 1" needs a day of month AND a weekday, which StartCalendarInterval cannot state',
    );
    expect(() => toCalendarTriggers(parseCron("0 0 */2 * 1"))).toThrow(
      'windows: "0 0 */2 * 1" needs a day of month AND a weekday, which a Task Scheduler trigger cannot state',
    );
  });
  it("windows refuses minute steps that are uneven across hours", () => {
    let hint = "";
    try {
      toCalendarTriggers(parseCron("*/7 * * * *"));
    } catch (err) {
      expect((err as Error).message).toBe(
        'windows: "*/7 * * * *" runs at 216 unevenly spaced times a day, which needs 216 triggers (at most 48)',
      );
      hint = (err as { hint: string }).hint;
    }
    expect(hint).toContain("*/15 * * * *");
  });
  it("systemd expresses all of them", () => {
    expect(toOnCalendar(parseCron("0 0 */2 * 1"))).toEqual([
      "Mon *-*-01,03,05,07,09,11,13,15,17,19,21,23,25,27,29,31 00:00:00",
    ]);
    expect(toOnCalendar(parseCron("*/7 * * * *"))).toEqual(["*-*-* *:00,07,14,21,28,35,42,49,56:00"]);
    // The forms systemd rejected (Mon/2, Sun..Tue) or resolved differently from cron (01/7).
    expect(toOnCalendar(parseCron("0 2 * * 1,3,5"))).toEqual(["Mon,Wed,Fri *-*-* 02:00:00"]);
    expect(toOnCalendar(parseCron("30 4 * * 0-2"))).toEqual(["Sun,Mon,Tue *-*-* 04:30:00"]);
    expect(toOnCalendar(parseCron("30 3 */7 * *"))).toEqual(["*-*-01,08,15,22,29 03:30:00"]);
    // Both day fields restricted: cron ORs them, so one line per restriction.
    expect(toOnCalendar(parseCron("0 0 13 * fri"))).toEqual(["Fri *-*-* 00:00:00", "*-*-13 00:00:00"]);
  });
});

describe("spliceCronBlock", () => {
  const block = "# BEGIN sqlbak (managed by sqlbak install-schedule)\n0 2 * * * x\n# END sqlbak\n";
  it("appends, replaces in place, and removes only its block", () => {
    const foreign = "MAILTO=ops\n# keep me\n*/5 * * * * other\n";
    const added = spliceCronBlock(foreign, block);
    expect(added).toBe(foreign + block);
    expect(spliceCronBlock(added, block)).toBe(added);
    const changed = spliceCronBlock(`${added}1 1 * * * after\n`, block.replace("0 2", "0 4"));
    expect(changed).toBe(`${foreign}${block.replace("0 2", "0 4")}1 1 * * * after\n`);
    expect(spliceCronBlock(changed, null)).toBe(`${foreign}1 1 * * * after\n`);
    expect(spliceCronBlock("", null)).toBe("");
  });
});

describe("real validators", () => {
  it.skipIf(!have("systemd-analyze"))(
    "systemd-analyze: OnCalendar values give the cron times, and the units verify",
    () => {
      for (const cron of [...EXPRESSIONS, "0 0 */2 * 1", "*/7 * * * *"]) {
        const e = parseCron(cron);
        const calendars = toOnCalendar(e);
        const proc = Bun.spawnSync(
          [
            "systemd-analyze",
            "calendar",
            "--iterations=6",
            `--base-time=${BASE.toISOString().replace("T", " ").slice(0, 19)} UTC`,
            ...calendars,
          ],
          { env: { ...process.env, TZ: "UTC" } },
        );
        expect(proc.stderr.toString()).toBe("");
        expect(proc.exitCode).toBe(0);
        const times = [
          ...proc.stdout.toString().matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d):00/g),
        ].map((m) => m[1]!);
        const merged = [...new Set(times)].sort().slice(0, 6);
        expect({ cron, times: merged }).toEqual({ cron, times: nextRuns(e, BASE, 6).map(iso) });
      }
      for (const system of [true, false]) {
        // verify checks that ExecStart's binary exists: use one that does.
        const jobs = scheduledJobs(
          { backup: "0 0 13 * fri", verify: null, health: null },
          [process.execPath],
          "/etc/sqlbak/config.toml",
        );
        const files = renderSchedule("systemd", jobs, { ...OPTS, system }).files;
        const proc = systemdVerify(files, system);
        expect({ system, stderr: proc.stderr }).toEqual({ system, stderr: "" });
        expect(proc.exitCode).toBe(0);
      }
    },
  );
  if (!have("systemd-analyze"))
    console.warn("skipped systemd-analyze checks: not installed (./install.sh --test-deps installs it)");

  it.skipIf(!have("crontab"))("crontab -n accepts the block", () => {
    const dir = tempDir();
    for (const cron of EXPRESSIONS) {
      const file = join(dir, "crontab");
      writeFileSync(file, renderSchedule("cron", jobsFor(cron), OPTS).cronBlock!);
      const proc = Bun.spawnSync(["crontab", "-n", file]);
      expect({ cron, code: proc.exitCode, stderr: proc.stderr.toString() }).toEqual({
        cron,
        code: 0,
        stderr: expect.not.stringContaining("rror"),
      });
    }
  });
  if (!have("crontab"))
    console.warn("skipped crontab -n check: cron not installed (./install.sh --test-deps installs it)");

  it.skipIf(!have("python3"))(
    "plists parse with plistlib and their calendar entries fire at the cron times",
    () => {
      const dir = tempDir();
      for (const cron of EXPRESSIONS) {
        const file = join(dir, "job.plist");
        writeFileSync(file, renderSchedule("launchd", jobsFor(cron), OPTS).files[0]!.content);
        const py =
          "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))['StartCalendarInterval']))";
        const proc = Bun.spawnSync(["python3", "-c", py, file]);
        expect(proc.stderr.toString()).toBe("");
        const dicts = JSON.parse(proc.stdout.toString()) as Record<string, number>[];
        expect({ cron, times: launchdRuns(dicts, BASE, 4) }).toEqual({
          cron,
          times: nextRuns(parseCron(cron), BASE, 4).map(iso),
        });
      }
    },
    30_000,
  ); // one python3 start per expression: past 5 s on a loaded 2-core machine

  it.skipIf(!have("xmllint"))("xmllint: plists and task XML are well formed", () => {
    const dir = tempDir();
    for (const cron of EXPRESSIONS) {
      for (const platform of ["launchd", "windows"] as Platform[]) {
        const file = join(dir, `${platform}.xml`);
        writeFileSync(file, renderSchedule(platform, jobsFor(cron), OPTS).files[0]!.content);
        const proc = Bun.spawnSync(["xmllint", "--noout", "--nonet", file]);
        expect({ cron, platform, stderr: proc.stderr.toString() }).toEqual({ cron, platform, stderr: "" });
      }
    }
  });
  if (!have("xmllint"))
    console.warn("skipped xmllint checks: not installed (./install.sh --test-deps installs libxml2-utils)");
});

/** launchd's documented rule: a dict matches when every key it has matches; missing keys match anything. */
function launchdRuns(dicts: Record<string, number>[], from: Date, count: number): string[] {
  const out: string[] = [];
  for (let t = from.getTime() + 60_000; out.length < count && t < from.getTime() + 800 * 86_400_000; t += 60_000) {
    const d = new Date(t);
    const now = {
      Minute: d.getUTCMinutes(),
      Hour: d.getUTCHours(),
      Day: d.getUTCDate(),
      Month: d.getUTCMonth() + 1,
      Weekday: d.getUTCDay(),
    };
    if (
      dicts.some((x) =>
        Object.entries(x).every(([k, v]) => now[k as keyof typeof now] === (k === "Weekday" ? v % 7 : v)),
      )
    )
      out.push(iso(d));
  }
  return out;
}
