/**
 * Two duration syntaxes, because they mean different things:
 * - spans (`max_age`, `lock_timeout`): `90s`, `15m`, `26h`, `7d`, `2w`, combinable (`1h30m`);
 *   here `m` is minutes, as in systemd and Go.
 * - retention windows (`keep_within`): restic's calendar units `y`, `m` (months), `d`, `h`,
 *   applied on the calendar (`1y6m` is 18 months back, whatever their lengths).
 */
const SPAN_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Parses a span like `1h30m` into milliseconds; returns null when malformed. */
export function parseSpanMs(text: string): number | null {
  const src = text.trim();
  if (src === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;
  let total = 0;
  let pos = 0;
  while (pos < src.length) {
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) return null;
    total += Number(m[1]) * SPAN_UNITS_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === 0 ? null : Math.round(total);
}

export interface CalendarWindow {
  years: number;
  months: number;
  days: number;
  hours: number;
}

/** Parses restic's `keep_within` syntax (`2d12h`, `1y6m`, `0s`); returns null when malformed. */
export function parseCalendarWindow(text: string): CalendarWindow | null {
  const src = text.trim();
  const win: CalendarWindow = { years: 0, months: 0, days: 0, hours: 0 };
  if (src === "0" || src === "0s") return win;
  const re = /(\d+)([ymdh])/y;
  let pos = 0;
  while (pos < src.length) {
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) return null;
    const n = Number(m[1]);
    const key = ({ y: "years", m: "months", d: "days", h: "hours" } as const)[m[2] as "y" | "m" | "d" | "h"];
    win[key] += n;
    pos = re.lastIndex;
  }
  return pos === 0 ? null : win;
}

export function isEmptyWindow(w: CalendarWindow): boolean {
  return w.years === 0 && w.months === 0 && w.days === 0 && w.hours === 0;
}

/** Human form of a span in ms, coarse: `3d 4h`, `12m`, `45s`. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}
