/**
 * launchd and Windows entries fire exactly when cron would: for every corpus
 * expression a platform accepts, the generated structure (StartCalendarInterval
 * dicts; CalendarTrigger XML) is expanded into fire times by that platform's
 * documented rules and compared with sqlbak's own cron iterator; an expression
 * it refuses must be one it cannot state (never an approximation).
 */
import { describe, expect, it } from "bun:test";
import { type CronExpr, nextRuns, parseCron } from "../../src/lib/model/cron.ts";
import { UnsupportedScheduleError } from "../../src/lib/schedule/common.ts";
import { toCalendarIntervals } from "../../src/lib/schedule/launchd.ts";
import { DAY_NAMES, MONTH_NAMES, toCalendarTriggers } from "../../src/lib/schedule/windows.ts";
import { CORPUS } from "../helpers/cron-corpus.ts";

process.env.TZ = "UTC";

const COUNT = 200;
const BASE = new Date(Date.UTC(2026, 10, 20, 12, 0));
const HORIZON_DAYS = 3660;
const DAY_MS = 86_400_000;

/**
 * Minutes of the day at which `firesOn(day)` says the platform
 * runs, over the iterator's horizon; the first COUNT after BASE.
 */
function expand(minutesOn: (d: Date) => number[]): string[] {
  const out: string[] = [];
  const start = Date.UTC(BASE.getUTCFullYear(), BASE.getUTCMonth(), BASE.getUTCDate());
  for (let i = 0; i < HORIZON_DAYS && out.length < COUNT; i++) {
    const day = new Date(start + i * DAY_MS);
    for (const m of [...new Set(minutesOn(day))].sort((a, b) => a - b)) {
      const t = day.getTime() + m * 60_000;
      if (t > BASE.getTime() && out.length < COUNT) out.push(new Date(t).toISOString());
    }
  }
  return out;
}

/** launchd: a dict fires when every key it has matches (Weekday 0 and 7 are Sunday); the job fires on any dict. */
function launchdMinutes(intervals: ReturnType<typeof toCalendarIntervals>, d: Date): number[] {
  const out: number[] = [];
  for (const i of intervals) {
    if (i.Month !== undefined && i.Month !== d.getUTCMonth() + 1) continue;
    if (i.Day !== undefined && i.Day !== d.getUTCDate()) continue;
    if (i.Weekday !== undefined && i.Weekday % 7 !== d.getUTCDay()) continue;
    for (let h = 0; h < 24; h++)
      for (let m = 0; m < 60; m++) if ((i.Hour ?? h) === h && (i.Minute ?? m) === m) out.push(h * 60 + m);
  }
  return out;
}

const tags = (xml: string, names: string[]) => names.filter((n) => xml.includes(`<${n}/>`));
const minutesOf = (iso: string) => {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?$/.exec(iso)!;
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
};

/**
 * Task Scheduler: a CalendarTrigger runs on the days its schedule names, at
 * StartBoundary's time, repeating every Interval while within Duration.
 */
function windowsMinutes(triggers: string[], d: Date): number[] {
  const out: number[] = [];
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  for (const t of triggers) {
    const months = tags(
      /<Months>(.*?)<\/Months>/.exec(t)?.[1] ?? MONTH_NAMES.map((m) => `<${m}/>`).join(""),
      MONTH_NAMES,
    );
    let on: boolean;
    if (t.includes("<ScheduleByDay>")) on = /<DaysInterval>1<\/DaysInterval>/.test(t);
    else if (t.includes("<ScheduleByWeek>"))
      on = /<WeeksInterval>1<\/WeeksInterval>/.test(t) && tags(t, DAY_NAMES).includes(DAY_NAMES[d.getUTCDay()]!);
    else if (t.includes("<ScheduleByMonth>")) {
      const days = [...t.matchAll(/<Day>(\d+)<\/Day>/g)].map((m) => Number(m[1]));
      on = months.includes(MONTH_NAMES[d.getUTCMonth()]!) && days.includes(d.getUTCDate());
    } else if (t.includes("<ScheduleByMonthDayOfWeek>")) {
      const weeks = [...t.matchAll(/<Week>(\w+)<\/Week>/g)].map((m) => m[1]!);
      const week = String(Math.ceil(d.getUTCDate() / 7));
      const inWeek = weeks.includes(week) || (weeks.includes("Last") && d.getUTCDate() + 7 > daysInMonth);
      on =
        months.includes(MONTH_NAMES[d.getUTCMonth()]!) &&
        tags(t, DAY_NAMES).includes(DAY_NAMES[d.getUTCDay()]!) &&
        inWeek;
    } else throw new Error(`unknown schedule in ${t}`);
    if (!on) continue;
    const [, hh, mm] = /<StartBoundary>\d{4}-\d\d-\d\dT(\d\d):(\d\d):00<\/StartBoundary>/.exec(t)!;
    const first = Number(hh) * 60 + Number(mm);
    const rep = /<Interval>(PT\w+)<\/Interval><Duration>(PT\w+)<\/Duration>/.exec(t);
    if (!rep) out.push(first);
    else
      for (
        let m = first, every = minutesOf(rep[1]!), until = first + minutesOf(rep[2]!);
        m < until && m < 1440;
        m += every
      )
        out.push(m);
  }
  return out;
}

describe.each([
  [
    "launchd",
    (e: CronExpr) => {
      const i = toCalendarIntervals(e);
      return (d: Date) => launchdMinutes(i, d);
    },
  ],
  [
    "windows",
    (e: CronExpr) => {
      const t = toCalendarTriggers(e);
      return (d: Date) => windowsMinutes(t, d);
    },
  ],
] as const)("%s entries fire on exactly the cron set", (platform, render) => {
  it(`next ${COUNT} runs equal the cron iterator's for every expression it accepts, \
and it refuses only with a reason`, () => {
    const wrong: { cron: string; got: string[]; want: string[] }[] = [];
    const refused: string[] = [];
    for (const cron of CORPUS) {
      const e = parseCron(cron);
      let minutesOn: (d: Date) => number[];
      try {
        minutesOn = render(e);
      } catch (err) {
        // Only the two documented limits: a day-of-month AND weekday entry, or more entries than the platform takes.
        expect(err).toBeInstanceOf(UnsupportedScheduleError);
        expect((err as Error).message).toMatch(/cannot state|\(at most \d+\)/);
        refused.push(cron);
        continue;
      }
      const want = nextRuns(e, BASE, COUNT).map((d) => d.toISOString());
      const got = expand(minutesOn);
      if (JSON.stringify(got) !== JSON.stringify(want))
        wrong.push({ cron, got: got.slice(0, 3), want: want.slice(0, 3) });
    }
    expect(wrong).toEqual([]);
    // Most of the corpus must be representable, or the comparison proves little.
    expect(CORPUS.length - refused.length).toBeGreaterThanOrEqual(40);
    console.log(
      `${platform}: ${CORPUS.length - refused.length} expressions compared, refused: ${refused.join(" | ") || "none"}`,
    );
  }, 60_000);
});
