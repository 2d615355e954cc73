/**
 * Retention as a pure function: which backups of one database survive a
 * rotation, and every reason why. The rules over `scheduled` backups are
 * restic's `forget` (internal/data/snapshot_policy.go) step for step; sqlbak's
 * safety nets (manual, pre-restore, the `keep` tag, the newest, an empty
 * policy) only ever add keeps on top. Calendar periods are taken in an explicit
 * IANA time zone through Intl, never from the process's TZ alone.
 */

import { machineTimeZone, type RetentionPolicy, UNLIMITED } from "../config/index.ts";
import { type BackupKind, type CalendarWindow, isEmptyWindow } from "../model/index.ts";

/** The tag that pins a backup forever (`backup --pin` adds it). */
export const KEEP_TAG = "keep";

export const BUCKET_RULES = ["hourly", "daily", "weekly", "monthly", "yearly"] as const;
export type BucketRule = (typeof BUCKET_RULES)[number];

/**
 * Why a backup cannot stand in for a good one: its own latest verification
 * failed, a pack it references failed its newest verification, or its data is gone.
 */
export type BadBackup = "failed verification" | "pack failed verification" | "data missing";

export interface RetentionInput {
  id: string;
  created_at: string;
  kind: BackupKind;
  tags: string[];
  /** Set when it or a pack it references FAILED verification, or its data file is gone: it never fills a keep slot. */
  bad?: BadBackup;
}

export interface RetentionDecision extends RetentionInput {
  keep: boolean;
  /** Every rule that keeps it, in evaluation order; empty when removed. */
  reasons: string[];
  /** Why a bad backup kept as evidence is removed now (absent for an ordinary removal). */
  removal?: string;
}

export interface RetentionPlan {
  /** Every count zero and no window: nothing is removed (restic refuses too). */
  emptyPolicy: boolean;
  /** Newest first (ties: larger id first), one entry per input backup. */
  decisions: RetentionDecision[];
  keep: string[];
  remove: string[];
}

export interface PlanOptions {
  /** IANA zone for calendar periods; default the machine's. */
  timeZone?: string;
  /** Backups after this are ignored when picking the newest time for windows (restic's rule). */
  now?: Date;
  /**
   * Ids never removed, kept with the given reason when nothing else keeps them:
   * a bare id is "just taken" (`backup --rotate`: the backups this run just took).
   */
  protect?: (string | { id: string; reason: string })[];
}

const COUNT_RULES = [
  ["last", "keepLast"],
  ["hourly", "keepHourly"],
  ["daily", "keepDaily"],
  ["weekly", "keepWeekly"],
  ["monthly", "keepMonthly"],
  ["yearly", "keepYearly"],
] as const;
const WINDOW_RULES = [
  ["hourly", "keepWithinHourly"],
  ["daily", "keepWithinDaily"],
  ["weekly", "keepWithinWeekly"],
  ["monthly", "keepWithinMonthly"],
  ["yearly", "keepWithinYearly"],
] as const;

interface Civil {
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

/** `1y6m`, `2d12h`, `0s` for the empty window. */
export function formatWindow(w: CalendarWindow): string {
  const s =
    `${w.years ? `${w.years}y` : ""}${w.months ? `${w.months}m` : ""}` +
    `${w.days ? `${w.days}d` : ""}${w.hours ? `${w.hours}h` : ""}`;
  return s || "0s";
}

const countText = (n: number) => (n === UNLIMITED ? "unlimited" : String(n));

/** True when no rule would keep anything: then rotation removes nothing. */
export function isEmptyPolicy(p: RetentionPolicy): boolean {
  return (
    COUNT_RULES.every(([, k]) => p[k] === 0) &&
    isEmptyWindow(p.keepWithin) &&
    WINDOW_RULES.every(([, k]) => isEmptyWindow(p[k]))
  );
}

/**
 * One line for logs and dry runs, e.g. `keep last 3, 30 daily, 12 weekly; 5 pre-restore; manual and tag keep always`.
 */
export function describePolicy(p: RetentionPolicy): string {
  if (isEmptyPolicy(p)) return "empty policy: keep everything";
  const parts = COUNT_RULES.filter(([, k]) => p[k] !== 0).map(([rule, k]) =>
    rule === "last" ? `last ${countText(p[k])}` : `${countText(p[k])} ${rule}`,
  );
  for (const [rule, k] of WINDOW_RULES) if (!isEmptyWindow(p[k])) parts.push(`${rule} within ${formatWindow(p[k])}`);
  if (!isEmptyWindow(p.keepWithin)) parts.push(`all within ${formatWindow(p.keepWithin)} of the newest`);
  return `keep ${parts.join(", ")}; ${countText(p.keepPreRestore)} pre-restore; manual and tag ${KEEP_TAG} always`;
}

function byNewest(a: { ms: number; id: string }, b: { ms: number; id: string }): number {
  return b.ms - a.ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** restic's ApplyPolicy over scheduled backups (newest first); returns the reasons per backup. */
function applyResticRules(
  list: { ms: number; civil: Civil }[],
  p: RetentionPolicy,
  tz: string,
  now?: Date,
): string[][] {
  const reasons = list.map(() => [] as string[]);
  // restic: the newest time not in the future is the reference for every window.
  const latest = list.find((b) => now === undefined || b.ms < now.getTime())?.ms ?? Number.NEGATIVE_INFINITY;
  const cutoff = (w: CalendarWindow) => (latest === Number.NEGATIVE_INFINITY ? latest : windowStart(latest, w, tz));
  const buckets = COUNT_RULES.map(([rule, k]) => ({
    rule,
    count: p[k],
    last: null as number | null,
    label: `last ${countText(p[k])}`,
  }));
  const windows = WINDOW_RULES.filter(([, k]) => !isEmptyWindow(p[k])).map(([rule, k]) => ({
    rule,
    text: formatWindow(p[k]),
    from: cutoff(p[k]),
    last: null as number | null,
  }));
  const withinFrom = isEmptyWindow(p.keepWithin) ? null : cutoff(p.keepWithin);
  list.forEach((cur, nr) => {
    const r = reasons[nr]!;
    const oldest = nr === list.length - 1;
    if (withinFrom !== null && cur.ms > withinFrom) r.push(`within ${formatWindow(p.keepWithin)}`);
    for (const b of buckets) {
      if (b.count === 0) continue;
      const period = b.rule === "last" ? { key: nr, label: "" } : periodOf(b.rule, cur.civil);
      // A rule with count left at the oldest backup keeps it too: the longest history for the counts.
      if (period.key === b.last && !oldest) continue;
      r.push(period.key === b.last ? `oldest ${b.rule}` : b.rule === "last" ? b.label : `${b.rule} ${period.label}`);
      b.last = period.key;
      if (b.count > 0) b.count--;
    }
    for (const w of windows) {
      if (!(cur.ms > w.from)) continue;
      const period = periodOf(w.rule, cur.civil);
      if (period.key === w.last && !oldest) continue;
      r.push(
        period.key === w.last ? `oldest ${w.rule} within ${w.text}` : `${w.rule} ${period.label} within ${w.text}`,
      );
      w.last = period.key;
    }
  });
  return reasons;
}

type Planned = { b: RetentionInput; id: string; ms: number; reasons: string[] };

/**
 * Bad backups (failed verification, of a pack too; data missing) are evidence: kept, with
 * that reason, while they are not older than the oldest good backup the
 * policy keeps (future-dated ones aside); older ones are removed, saying why.
 * Without any kept good backup, every bad one is kept. Returns the removal
 * reasons.
 */
function keepEvidence(all: Planned[], nowMs: number): Map<Planned, string> {
  const out = new Map<Planned, string>();
  const keptGood = all.filter((x) => !x.b.bad && x.reasons.length > 0 && !(x.ms > nowMs));
  const oldest = keptGood.at(-1);
  for (const x of all) {
    if (!x.b.bad) continue;
    if (x.reasons.length > 0 || !oldest || byNewest(x, oldest) <= 0) x.reasons.push(`${x.b.bad} (evidence)`);
    else out.set(x, `${x.b.bad}, older than the oldest kept backup ${oldest.id}`);
  }
  return out;
}

/**
 * Given one database's backups and a policy, return keep or remove for every
 * backup with all its reasons. Pure: same input, same plan. Keep and remove
 * partition the input; manual, `keep`-tagged, protected and the newest backups are always
 * kept; an empty policy keeps everything and sets `emptyPolicy`.
 */
export function planRetention(
  backups: RetentionInput[],
  policy: RetentionPolicy,
  opts: PlanOptions = {},
): RetentionPlan {
  const tz = opts.timeZone ?? machineTimeZone();
  const all: Planned[] = backups
    .map((b) => ({ b, id: b.id, ms: Date.parse(b.created_at), reasons: [] as string[] }))
    .sort(byNewest);
  const empty = isEmptyPolicy(policy);
  // A backup dated after now (a clock that was wrong) never takes a
  // keep slot nor counts as the newest: it is kept and reported.
  const nowMs = opts.now?.getTime() ?? Number.POSITIVE_INFINITY;
  for (const x of all) if (x.ms > nowMs) x.reasons.push("future-dated");
  const present = all.filter((x) => !(x.ms > nowMs));
  // restic's rules, the pre-restore count and the newest net see
  // the good backups only: a corrupt one never fills a slot.
  const good = present.filter((x) => !x.b.bad);
  const scheduled = good.filter((x) => x.b.kind === "scheduled");
  if (!empty) {
    const ruled = applyResticRules(
      scheduled.map((x) => ({ ms: x.ms, civil: civilTime(x.ms, tz) })),
      policy,
      tz,
      opts.now,
    );
    for (const [i, x] of scheduled.entries()) x.reasons.push(...ruled[i]!);
  }
  let preRestoreSeen = 0;
  for (const x of present) {
    if (x.b.kind === "manual") x.reasons.push("manual");
    if (x.b.kind === "pre-restore" && !x.b.bad) {
      preRestoreSeen++;
      if (policy.keepPreRestore === UNLIMITED || preRestoreSeen <= policy.keepPreRestore)
        x.reasons.push(`pre-restore ${countText(policy.keepPreRestore)}`);
    }
    if (x.b.tags.includes(KEEP_TAG)) x.reasons.push(`tag ${KEEP_TAG}`);
  }
  if (empty) for (const x of all) if (x.reasons.length === 0) x.reasons.push("empty policy");
  for (const newest of [good[0], scheduled[0]])
    if (newest && newest.reasons.length === 0) newest.reasons.push("newest");
  const protect = new Map(
    (opts.protect ?? []).map((p) => (typeof p === "string" ? [p, "just taken"] : [p.id, p.reason])),
  );
  for (const x of all) if (protect.has(x.id) && x.reasons.length === 0) x.reasons.push(protect.get(x.id)!);
  const removal = keepEvidence(all, nowMs);
  const decisions = all.map((x) => ({
    id: x.b.id,
    created_at: x.b.created_at,
    kind: x.b.kind,
    tags: x.b.tags,
    ...(x.b.bad ? { bad: x.b.bad } : {}),
    keep: x.reasons.length > 0,
    reasons: x.reasons,
    ...(removal.has(x) ? { removal: removal.get(x) } : {}),
  }));
  return {
    emptyPolicy: empty,
    decisions,
    keep: decisions.filter((d) => d.keep).map((d) => d.id),
    remove: decisions.filter((d) => !d.keep).map((d) => d.id),
  };
}
