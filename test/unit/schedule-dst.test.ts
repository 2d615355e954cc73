/**
 * What docs/schedules.md says about daylight-saving changes: in
 * Europe/Berlin around the 2026 changes, sqlbak's cron iterator skips a time in
 * the gap and lists a repeated time once (its first occurrence), and that is
 * exactly what `systemd-analyze calendar` computes for the rendered timers.
 */
import { describe, expect, it } from "bun:test";
import { parseCron } from "../../src/lib/model/cron.ts";
import { toOnCalendar } from "../../src/lib/schedule/systemd.ts";

const ZONE = "Europe/Berlin";
const CASES = [
  // [cron, start (UTC), runs] — starts are the evening before each change.
  ["30 2 * * *", "2026-03-28T20:00:00Z", 3],
  ["30 2 * * *", "2026-10-24T20:00:00Z", 3],
  ["*/30 * * * *", "2026-03-28T23:00:00Z", 8],
  ["*/30 * * * *", "2026-10-24T23:00:00Z", 8],
  ["15 1-3 * * 0", "2026-10-24T20:00:00Z", 4],
] as const;

/** The iterator's runs as UTC ISO minutes, computed in a child with TZ set (the zone is per process). */
function iteratorRuns(cron: string, from: string, count: number): string[] {
  const cronModule = new URL("../../src/lib/model/cron.ts", import.meta.url).pathname;
  const script = `import { nextRuns, parseCron } from ${JSON.stringify(cronModule)};
const runs = nextRuns(parseCron(${JSON.stringify(cron)}), new Date(${JSON.stringify(from)}), ${count});
console.log(JSON.stringify(runs.map((d) => d.toISOString())));`;
  const p = Bun.spawnSync([process.execPath, "-e", script], {
    env: { ...process.env, TZ: ZONE },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(p.stderr.toString()).toBe("");
  return (JSON.parse(p.stdout.toString()) as string[]).map((s) => s.slice(0, 16));
}

/** systemd's merged elapses for the rendered OnCalendar= lines, in the same zone, as UTC ISO minutes. */
function systemdRuns(cron: string, from: string, count: number): string[] {
  const base = `@${Math.floor(Date.parse(from) / 1000)}`;
  const p = Bun.spawnSync(
    ["systemd-analyze", "calendar", `--iterations=${count}`, `--base-time=${base}`, ...toOnCalendar(parseCron(cron))],
    {
      env: { ...process.env, TZ: ZONE },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(p.exitCode).toBe(0);
  // "(in UTC): ..." lines give each elapse unambiguously, whatever the local offset.
  const times = [...p.stdout.toString().matchAll(/\(in UTC\): \w+ (\d{4}-\d\d-\d\d) (\d\d:\d\d):00 UTC/g)].map(
    (m) => `${m[1]}T${m[2]}`,
  );
  return [...new Set(times)].sort().slice(0, count);
}

describe("daylight-saving changes (Europe/Berlin)", () => {
  it("the iterator skips a time in the gap and lists a repeated time once, at its first occurrence", () => {
    // 2026-03-29 02:30 does not exist: the next run after the 28th's is the 30th.
    expect(iteratorRuns("30 2 * * *", "2026-03-28T20:00:00Z", 2)).toEqual(["2026-03-30T00:30", "2026-03-31T00:30"]);
    // 2026-10-25 02:30 exists twice (00:30 and 01:30 UTC): listed once, in summer time.
    expect(iteratorRuns("30 2 * * *", "2026-10-24T20:00:00Z", 2)).toEqual(["2026-10-25T00:30", "2026-10-26T01:30"]);
    // A wildcard job: no 02:xx in spring; in autumn the second
    // pass of 02:xx is not listed (02:30 CEST, then 03:00 CET).
    expect(iteratorRuns("*/30 * * * *", "2026-03-29T00:00:00Z", 3)).toEqual([
      "2026-03-29T00:30",
      "2026-03-29T01:00",
      "2026-03-29T01:30",
    ]);
    expect(iteratorRuns("*/30 * * * *", "2026-10-25T00:00:00Z", 3)).toEqual([
      "2026-10-25T00:30",
      "2026-10-25T02:00",
      "2026-10-25T02:30",
    ]);
  });

  it.skipIf(Bun.which("systemd-analyze") === null)("systemd's timers do the same on both changes", () => {
    for (const [cron, from, count] of CASES)
      expect({ cron, runs: systemdRuns(cron, from, count) }).toEqual({ cron, runs: iteratorRuns(cron, from, count) });
  });
  if (Bun.which("systemd-analyze") === null)
    console.warn("skipped the systemd-analyze DST comparison: not installed (./install.sh --test-deps installs it)");
});
