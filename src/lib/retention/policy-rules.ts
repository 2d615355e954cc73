/** The rules a retention policy is made of: the keep tag, the counts and windows, whether any is set, and how a policy reads. */
import { type RetentionPolicy, UNLIMITED } from "../config/index.ts";
import { type CalendarWindow, isEmptyWindow } from "../model/index.ts";

/** The tag that pins a backup forever (`backup --pin` adds it). */
export const KEEP_TAG = "keep";

export const COUNT_RULES = [
  ["last", "keepLast"],
  ["hourly", "keepHourly"],
  ["daily", "keepDaily"],
  ["weekly", "keepWeekly"],
  ["monthly", "keepMonthly"],
  ["yearly", "keepYearly"],
] as const;
export const WINDOW_RULES = [
  ["hourly", "keepWithinHourly"],
  ["daily", "keepWithinDaily"],
  ["weekly", "keepWithinWeekly"],
  ["monthly", "keepWithinMonthly"],
  ["yearly", "keepWithinYearly"],
] as const;

/** `1y6m`, `2d12h`, `0s` for the empty window. */
export function formatWindow(w: CalendarWindow): string {
  const s =
    `${w.years ? `${w.years}y` : ""}${w.months ? `${w.months}m` : ""}` +
    `${w.days ? `${w.days}d` : ""}${w.hours ? `${w.hours}h` : ""}`;
  return s || "0s";
}

export const countText = (n: number) => (n === UNLIMITED ? "unlimited" : String(n));

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
