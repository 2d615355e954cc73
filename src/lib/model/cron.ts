/**
 * Five-field cron expressions as Debian's cron (Vixie cron) reads them:
 * numbers, `*`, lists, ranges, steps, month and weekday names, 0 and 7 = Sunday,
 * and the `@daily`-style shorthands. Parsing expands every field into the set
 * of values it matches; the schedulers' renderers work from those sets.
 */

export interface CronField {
  /** Matching values, sorted and unique (weekday 7 is folded into 0). */
  values: number[];
  /** The field text starts with `*` (also `*\/2`): cron then ANDs the two day fields instead of ORing them. */
  star: boolean;
  /** Every value of the field's range matches. */
  full: boolean;
}

export interface CronExpr {
  /** The expression as written (shorthands expanded). */
  source: string;
  minute: CronField;
  hour: CronField;
  dom: CronField;
  month: CronField;
  dow: CronField;
}

export class CronSyntaxError extends Error {}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FIELDS: FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES },
  { name: "day of week", min: 0, max: 7, names: DAY_NAMES },
];
const SHORTHANDS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
/** Longest month length per month (February 29 exists in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function parseNumber(text: string, spec: FieldSpec): number {
  const byName = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (byName >= 0) return spec === FIELDS[3] ? byName + 1 : byName;
  if (!/^\d+$/.test(text)) {
    const hint = spec.names ? ` (names: ${spec.names.join(", ")})` : "";
    throw new CronSyntaxError(`${spec.name}: "${text}" is not a number${hint}`);
  }
  const n = Number(text);
  if (n < spec.min || n > spec.max)
    throw new CronSyntaxError(`${spec.name}: ${n} is out of range ${spec.min}-${spec.max}`);
  return n;
}

function parseField(text: string, spec: FieldSpec): CronField {
  const set = new Set<number>();
  for (const item of text.split(",")) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new CronSyntaxError(`${spec.name}: "${item}" is not a value, range or step`);
    const [, range, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1 || step > spec.max)
      throw new CronSyntaxError(`${spec.name}: step ${stepText} is out of range 1-${spec.max}`);
    let lo: number;
    let hi: number;
    if (range === "*") [lo, hi] = [spec.min, spec === FIELDS[4] ? 6 : spec.max];
    else if (range!.includes("-")) {
      const [a, b, ...extra] = range!.split("-");
      if (extra.length) throw new CronSyntaxError(`${spec.name}: "${range}" is not a range`);
      [lo, hi] = [parseNumber(a!, spec), parseNumber(b!, spec)];
      if (lo > hi)
        throw new CronSyntaxError(`${spec.name}: range ${range} runs backwards (write ${b}-${a}, or a list)`);
    } else {
      // Vixie cron rejects `5/10`; write `5-59/10`.
      if (stepText !== undefined)
        throw new CronSyntaxError(
          `${spec.name}: "${item}" needs a range before the step (e.g. ${range}-${spec.max}/${step})`,
        );
      lo = hi = parseNumber(range!, spec);
    }
    for (let v = lo; v <= hi; v += step) set.add(spec === FIELDS[4] && v === 7 ? 0 : v);
  }
  const values = [...set].sort((a, b) => a - b);
  const span = (spec === FIELDS[4] ? 6 : spec.max) - spec.min + 1;
  return { values, star: text.startsWith("*"), full: values.length === span };
}

/**
 * Given a cron expression, return its expanded fields; throw CronSyntaxError
 * naming the field and what is wrong. Also refuses an expression that can
 * never fire (e.g. February 30), since a schedule that never runs is a silent failure.
 */
export function parseCron(text: string): CronExpr {
  const trimmed = text.trim();
  if (trimmed.startsWith("@")) {
    const expanded = SHORTHANDS[trimmed.toLowerCase()];
    if (!expanded)
      throw new CronSyntaxError(
        `"${trimmed}" is not supported (use five fields, or one of ${Object.keys(SHORTHANDS).join(", ")})`,
      );
    return parseCron(expanded);
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) {
    throw new CronSyntaxError(
      `expected 5 fields (minute hour day-of-month month day-of-week), got ${trimmed === "" ? 0 : parts.length}`,
    );
  }
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!)) as [
    CronField,
    CronField,
    CronField,
    CronField,
    CronField,
  ];
  const expr = { source: parts.join(" "), minute, hour, dom, month, dow };
  if (usesDayOfMonthOnly(expr) && !month.values.some((m) => dom.values[0]! <= MONTH_DAYS[m - 1]!)) {
    throw new CronSyntaxError(`day of month ${dom.values[0]} never occurs in the chosen months, so this never runs`);
  }
  return expr;
}

/** True when only the day of month selects days (cron ignores a `*` weekday then). */
function usesDayOfMonthOnly(e: CronExpr): boolean {
  return !e.dom.full && e.dow.full && e.dow.star;
}

/**
 * Cron's day rule: when both day fields are restricted (neither starts with
 * `*`), a day matches if EITHER does; otherwise both must match.
 */
export function isDayOrSemantics(e: CronExpr): boolean {
  return !e.dom.star && !e.dow.star;
}

/** Whether cron would run `e` on this calendar day (month 1-12, weekday 0-6). */
export function matchesDay(e: CronExpr, month: number, day: number, weekday: number): boolean {
  if (!e.month.values.includes(month)) return false;
  const dom = e.dom.values.includes(day);
  const dow = e.dow.values.includes(weekday);
  return isDayOrSemantics(e) ? dom || dow : dom && dow;
}

/**
 * The next `count` times after `from` (exclusive) at which cron would run `e`,
 * in the process's local time zone. Times that do not exist locally (a DST
 * gap) are skipped. Searches at most ten years ahead.
 */
export function nextRuns(e: CronExpr, from: Date, count: number): Date[] {
  const runs: Date[] = [];
  const day = new Date(from.getFullYear(), from.getMonth(), from.getDate());
  for (let i = 0; i < 3660 && runs.length < count; i++, day.setDate(day.getDate() + 1)) {
    if (!matchesDay(e, day.getMonth() + 1, day.getDate(), day.getDay())) continue;
    for (const h of e.hour.values) {
      for (const m of e.minute.values) {
        const t = new Date(day.getFullYear(), day.getMonth(), day.getDate(), h, m);
        if (t.getHours() !== h || t.getMinutes() !== m || t <= from) continue;
        runs.push(t);
        if (runs.length === count) return runs;
      }
    }
  }
  return runs;
}
