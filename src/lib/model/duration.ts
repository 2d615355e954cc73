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

/**
 * The longest span sqlbak accepts: 100 years (of 365 days). Anything longer is
 * a typo, and far longer ones are not even finite numbers.
 */
export const MAX_SPAN_MS = 36_500 * SPAN_UNITS_MS.d!;

/** The sum of a span's parts in ms (possibly Infinity), or null when malformed. */
function sumSpan(text: string): number | null {
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
  return pos === 0 ? null : total;
}

/** Parses a span like `1h30m` into milliseconds; null when malformed or longer than MAX_SPAN_MS. */
export function parseSpanMs(text: string): number | null {
  const total = sumSpan(text);
  return total === null || !(total <= MAX_SPAN_MS) ? null : Math.round(total);
}

/** Why `text` is not an acceptable span, for a config problem; null when it is one. */
export function spanProblem(text: string): string | null {
  const total = sumSpan(text);
  const shown = text.length > 20 ? `${text.slice(0, 20)}…` : text;
  if (total === null) return `"${shown}" is not a duration (examples: 90s, 15m, 26h, 7d)`;
  if (!(total <= MAX_SPAN_MS)) return `"${shown}" is longer than 100 years, the longest duration sqlbak accepts`;
  return null;
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

/**
 * A configured span written back exactly, in the syntax the config takes:
 * `500ms`, `1m30s`, `7d1h` (`0s` for zero). For messages that quote a setting;
 * formatSpan is the coarse form for ages.
 */
export function formatSpanSetting(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  let out = "";
  for (const unit of ["d", "h", "m", "s", "ms"]) {
    const size = SPAN_UNITS_MS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || "0s";
}
