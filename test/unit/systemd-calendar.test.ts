/**
 * systemd timers fire exactly when cron would: for a corpus of cron
 * expressions, the next 200 elapses `systemd-analyze calendar` computes for the
 * rendered OnCalendar= lines (merged: a timer fires on any of its lines) equal
 * the next 200 runs of sqlbak's own cron iterator from the same start, in UTC.
 */
import { describe, expect, it } from "bun:test";
import { nextRuns, parseCron } from "../../src/lib/model/cron.ts";
import { toOnCalendar } from "../../src/lib/schedule/systemd.ts";
import { CORPUS } from "../helpers/cron-corpus.ts";

// Both sides are compared in UTC; fix the zone for this file.
process.env.TZ = "UTC";

const COUNT = 200;
const BASE = new Date(Date.UTC(2026, 10, 20, 12, 0));
/** nextRuns searches this many days ahead (from the start of BASE's day). */
const HORIZON_DAYS = 3660;
const iso = (d: Date) => d.toISOString().slice(0, 16).replace("T", " ");
const have = Bun.which("systemd-analyze") !== null;

interface Elapses {
  stderr: string;
  code: number;
  times: string[];
}

/** The merged next COUNT elapses systemd computes for a timer with these OnCalendar= lines. */
async function systemdElapses(lines: string[]): Promise<Elapses> {
  const proc = Bun.spawn(
    [
      "systemd-analyze",
      "calendar",
      `--iterations=${COUNT}`,
      `--base-time=${iso(BASE)}:00 UTC`,
      ...lines.map((l) => `${l} UTC`),
    ],
    {
      env: { ...process.env, TZ: "UTC" },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const times = [...stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d):00 UTC/g)].map(
    (m) => m[1]!,
  );
  return { stderr, code, times: [...new Set(times)].sort() };
}

describe("systemd OnCalendar= fires on exactly the cron set", () => {
  it("the corpus has at least 50 expressions", () => {
    expect(new Set(CORPUS).size).toBeGreaterThanOrEqual(50);
  });

  it.skipIf(!have)(
    `next ${COUNT} runs equal systemd-analyze's for every expression`,
    async () => {
      const dayStart = Date.UTC(BASE.getUTCFullYear(), BASE.getUTCMonth(), BASE.getUTCDate());
      const horizon = iso(new Date(dayStart + HORIZON_DAYS * 86_400_000));
      const results = await Promise.all(
        CORPUS.map(async (cron) => {
          const e = parseCron(cron);
          const lines = toOnCalendar(e);
          const expected = nextRuns(e, BASE, COUNT).map(iso);
          const got = await systemdElapses(lines);
          // The iterator stops at its horizon; compare systemd's elapses up to the same point.
          const times = (expected.length < COUNT ? got.times.filter((t) => t < horizon) : got.times).slice(0, COUNT);
          return { cron, lines, stderr: got.stderr, code: got.code, times, expected };
        }),
      );
      // Collect every mismatch so one run names all the expressions that differ.
      const wrong = results.filter(
        (r) =>
          r.stderr !== "" ||
          r.code !== 0 ||
          r.expected.length === 0 ||
          JSON.stringify(r.times) !== JSON.stringify(r.expected),
      );
      expect(
        wrong.map((r) => ({
          cron: r.cron,
          lines: r.lines,
          stderr: r.stderr.trim(),
          firstDifference: firstDifference(r.times, r.expected),
        })),
      ).toEqual([]);
    },
    60_000,
  );
  if (!have)
    console.warn("skipped systemd-analyze calendar comparison: not installed (./install.sh --test-deps installs it)");
});

/** Where two run lists first differ, for a readable failure. */
function firstDifference(got: string[], want: string[]): { index: number; systemd?: string; cron?: string } | null {
  for (let i = 0; i < Math.max(got.length, want.length); i++)
    if (got[i] !== want[i]) return { index: i, systemd: got[i], cron: want[i] };
  return want.length === 0 ? { index: 0 } : null;
}
