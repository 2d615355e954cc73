/**
 * Calendar periods for retention, in an explicit IANA time zone through Intl
 * (never the process's TZ alone): wall-clock fields, restic's window cutoff,
 * ISO weeks and the period a backup falls in for each bucket rule.
 */
import type { CalendarWindow } from "../model/index.ts";

export const BUCKET_RULES = ["hourly", "daily", "weekly", "monthly", "yearly"] as const;
export type BucketRule = (typeof BUCKET_RULES)[number];

export interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock fields of `ms` in `tz`. */
export function civilTime(ms: number, tz: string): Civil {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(tz, f);
  }
  const out: Record<string, number> = {};
  for (const p of f.formatToParts(ms)) if (p.type !== "literal") out[p.type] = Number(p.value);
  return {
    year: out.year!,
    month: out.month!,
    day: out.day!,
    hour: out.hour!,
    minute: out.minute!,
    second: out.second!,
  };
}

function offsetMs(ms: number, tz: string): number {
  const c = civilTime(ms, tz);
  return Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant of a wall-clock time in `tz` (fields may overflow, as in Go's
 * time.Date). A time skipped by DST moves forward; a repeated one takes the
 * later offset — the same choice Go makes.
 */
function fromCivil(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  tz: string,
): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const first = offsetMs(guess, tz);
  const second_ = offsetMs(guess - first, tz);
  return guess - (second_ === first ? first : second_);
}

/** restic's cutoff: latest.AddDate(-y, -m, -d).Add(-h hours), on the calendar of `tz`. */
export function windowStart(latestMs: number, w: CalendarWindow, tz: string): number {
  const c = civilTime(latestMs, tz);
  const dayShifted = fromCivil(
    c.year - w.years,
    c.month - w.months,
    c.day - w.days,
    c.hour,
    c.minute,
    c.second,
    latestMs % 1000,
    tz,
  );
  return dayShifted - w.hours * 3_600_000;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** ISO 8601 week of a calendar date: weeks start on Monday, week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(date + (3 - weekday) * 86_400_000);
  const y = thursday.getUTCFullYear();
  return { year: y, week: 1 + Math.floor((thursday.getTime() - Date.UTC(y, 0, 1)) / (7 * 86_400_000)) };
}

/** The period a time falls in for a bucket rule: a comparable key and its label (`weekly 2026-W46` uses `2026-W46`). */
export function periodOf(rule: BucketRule, c: Civil): { key: number; label: string } {
  switch (rule) {
    case "hourly":
      return {
        key: ((c.year * 100 + c.month) * 100 + c.day) * 100 + c.hour,
        label: `${c.year}-${pad(c.month)}-${pad(c.day)} ${pad(c.hour)}h`,
      };
    case "daily":
      return { key: (c.year * 100 + c.month) * 100 + c.day, label: `${c.year}-${pad(c.month)}-${pad(c.day)}` };
    case "weekly": {
      const w = isoWeek(c.year, c.month, c.day);
      return { key: w.year * 100 + w.week, label: `${w.year}-W${pad(w.week)}` };
    }
    case "monthly":
      return { key: c.year * 100 + c.month, label: `${c.year}-${pad(c.month)}` };
    case "yearly":
      return { key: c.year, label: String(c.year) };
  }
}
