/** restic's `forget` rules (internal/data/snapshot_policy.go) step for step, over one database's scheduled backups. */
import type { RetentionPolicy } from "../config/index.ts";
import { type CalendarWindow, isEmptyWindow } from "../model/index.ts";
import { type Civil, periodOf, windowStart } from "./calendar.ts";
import { COUNT_RULES, countText, formatWindow, WINDOW_RULES } from "./policy-rules.ts";

/** restic's ApplyPolicy over scheduled backups (newest first); returns the reasons per backup. */
export function applyResticRules(
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
