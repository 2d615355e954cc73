/**
 * The `[retention]` table, the per-database `retention = { ... }` override and
 * the top-level `timezone`: checked key by key (every problem collected, each
 * naming its key) and resolved into a RetentionPolicy, layer over layer.
 */
import { type CalendarWindow, parseCalendarWindow } from "../model/index.ts";

/** A count of `"unlimited"` in the config; restic's -1. */
export const UNLIMITED = -1;
export interface RetentionPolicy {
  keepLast: number;
  keepHourly: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  keepYearly: number;
  keepWithin: CalendarWindow;
  keepWithinHourly: CalendarWindow;
  keepWithinDaily: CalendarWindow;
  keepWithinWeekly: CalendarWindow;
  keepWithinMonthly: CalendarWindow;
  keepWithinYearly: CalendarWindow;
  /** How many `pre-restore` backups to keep, newest first. */
  keepPreRestore: number;
}

let zone: string | undefined;

/**
 * The machine's zone, as Intl resolves it (honours TZ); once per process. Intl's first use
 * loads its zone data: 5-30 ms here, so a config leaves it until something asks (load.ts).
 */
export function machineTimeZone(): string {
  zone ??= Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone;
}

/** True when `tz` is a zone name Intl accepts. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const RETENTION_COUNT_KEYS = [
  "keep_last",
  "keep_hourly",
  "keep_daily",
  "keep_weekly",
  "keep_monthly",
  "keep_yearly",
  "keep_pre_restore",
] as const;
export const RETENTION_WINDOW_KEYS = [
  "keep_within",
  "keep_within_hourly",
  "keep_within_daily",
  "keep_within_weekly",
  "keep_within_monthly",
  "keep_within_yearly",
] as const;
type CountKey = (typeof RETENTION_COUNT_KEYS)[number];
type WindowKey = (typeof RETENTION_WINDOW_KEYS)[number];
const ALL_KEYS: string[] = [...RETENTION_COUNT_KEYS, ...RETENTION_WINDOW_KEYS];

/** A retention table as written (validated). */
export type RetentionEntry = Partial<Record<CountKey, number | "unlimited">> & Partial<Record<WindowKey, string>>;

/**
 * A month of dailies, a quarter of weeklies, a year of monthlies, and the last
 * three runs whatever their dates: about 55 backups for years of daily runs.
 * Five pre-restore backups cover a bad afternoon of repeated restores.
 */
export const DEFAULT_RETENTION: Required<RetentionEntry> = {
  keep_last: 3,
  keep_hourly: 0,
  keep_daily: 30,
  keep_weekly: 12,
  keep_monthly: 12,
  keep_yearly: 0,
  keep_pre_restore: 5,
  keep_within: "0s",
  keep_within_hourly: "0s",
  keep_within_daily: "0s",
  keep_within_weekly: "0s",
  keep_within_monthly: "0s",
  keep_within_yearly: "0s",
};

type AddProblem = (key: string, what: string) => void;

/**
 * Checks a retention table found at `key` (`retention` or
 * `database[0].retention`); undefined when absent or not a table.
 */
export function checkRetentionTable(raw: unknown, key: string, add: AddProblem): RetentionEntry | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || raw instanceof Date) {
    add(key, "expected a table of keep_* settings");
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  const out: RetentionEntry = {};
  for (const k of Object.keys(obj))
    if (!ALL_KEYS.includes(k)) add(`${key}.${k}`, `unknown key (allowed here: ${ALL_KEYS.join(", ")})`);
  for (const k of RETENTION_COUNT_KEYS) {
    const v = obj[k];
    if (v === undefined) continue;
    if (v === "unlimited" || (typeof v === "number" && Number.isSafeInteger(v) && v >= 0)) out[k] = v;
    else add(`${key}.${k}`, `expected a whole number ≥ 0 or "unlimited", got ${JSON.stringify(v) ?? String(v)}`);
  }
  for (const k of RETENTION_WINDOW_KEYS) {
    const v = obj[k];
    if (v === undefined) continue;
    if (typeof v === "string" && parseCalendarWindow(v) !== null) out[k] = v;
    else
      add(
        `${key}.${k}`,
        `${JSON.stringify(v) ?? String(v)} is not a retention window (examples: 2d12h, 1y6m, 36h; ` +
          "units y, m = months, d, h)",
      );
  }
  return out;
}

/** Checks the top-level `timezone`: an IANA zone name Intl knows. */
export function checkTimeZone(raw: unknown, add: AddProblem): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === "string" && raw !== "" && isValidTimeZone(raw)) return raw;
  add(
    "timezone",
    `${JSON.stringify(raw) ?? String(raw)} is not an IANA time ` +
      "zone name (examples: Europe/Berlin, America/New_York, UTC)",
  );
  return undefined;
}

const count = (v: number | "unlimited") => (v === "unlimited" ? UNLIMITED : v);
const windowOf = (v: string): CalendarWindow => parseCalendarWindow(v)!;

/** Defaults, then each layer key by key (global `[retention]`, then a database's own), as a policy. */
export function resolveRetention(...layers: (RetentionEntry | undefined)[]): RetentionPolicy {
  const e: Required<RetentionEntry> = { ...DEFAULT_RETENTION };
  for (const layer of layers)
    for (const [k, v] of Object.entries(layer ?? {})) if (v !== undefined) Object.assign(e, { [k]: v });
  return {
    keepLast: count(e.keep_last),
    keepHourly: count(e.keep_hourly),
    keepDaily: count(e.keep_daily),
    keepWeekly: count(e.keep_weekly),
    keepMonthly: count(e.keep_monthly),
    keepYearly: count(e.keep_yearly),
    keepWithin: windowOf(e.keep_within),
    keepWithinHourly: windowOf(e.keep_within_hourly),
    keepWithinDaily: windowOf(e.keep_within_daily),
    keepWithinWeekly: windowOf(e.keep_within_weekly),
    keepWithinMonthly: windowOf(e.keep_within_monthly),
    keepWithinYearly: windowOf(e.keep_within_yearly),
    keepPreRestore: count(e.keep_pre_restore),
  };
}

/** Each destination with its own `retention`: defaults, global, the database's, then the destination's table. */
export function destinationPolicies(
  destinations: { name: string; retention?: unknown }[] | undefined,
  ...layers: (RetentionEntry | undefined)[]
): Record<string, RetentionPolicy> {
  const out: Record<string, RetentionPolicy> = {};
  for (const d of destinations ?? [])
    if (d.retention && typeof d.retention === "object")
      out[d.name] = resolveRetention(...layers, d.retention as RetentionEntry);
  return out;
}
