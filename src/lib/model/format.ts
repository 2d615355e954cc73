/** Small, pure formatting helpers for human output. */
import { formatSpan } from "./duration.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[i]}`;
}

/**
 * The one form of every displayed time: local wall-clock time with its UTC
 * offset, `2026-11-22 06:07:08 +01:00`, in the process's time zone (TZ).
 * `restore --at` reads this form back and takes it as that whole second.
 */
export function formatLocalTime(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const off = -date.getTimezoneOffset();
  const zone = `${off < 0 ? "-" : "+"}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  const day = `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}`;
  return `${day} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())} ${zone}`;
}

/** `3d 4h ago`. */
export function formatAge(date: Date, now: Date): string {
  return `${formatSpan(now.getTime() - date.getTime())} ago`;
}

/** Renders rows as a left-aligned text table with a header line. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
