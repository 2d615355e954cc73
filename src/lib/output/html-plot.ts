/**
 * Small inline SVG line plots for the status page: values over time, with
 * a zero-based y axis and a native tooltip (<title>) on every point. No
 * script and no external asset, so the page renders anywhere, even offline.
 */
import { esc } from "./html-escape.ts";

export interface PlotSeries {
  label: string;
  /** A CSS colour; it comes from the page's own code, never from data. */
  color: string;
  points: { t: number; v: number; title: string }[];
}

export interface PlotOptions {
  title: string;
  /** How an axis value reads (bytes, seconds). */
  format: (v: number) => string;
  /** 1024 for bytes, so the top of the axis is a round number of KiB/MiB/GiB; 10 otherwise. */
  base?: number;
}

const WIDTH = 360;
const HEIGHT = 150;
const PAD = { left: 58, right: 12, top: 22, bottom: 24 };

/**
 * A round upper bound for the y axis at or above `max`: 1, 2 or 5 times a power of ten, in units of
 * `base`'s largest power at or below `max` (so bytes top out at e.g. 2 MiB, not 977 KiB).
 */
export function niceMax(max: number, base = 10): number {
  if (max <= 0) return 1;
  const unit = base === 10 ? 1 : base ** Math.floor(Math.log(max) / Math.log(base));
  const v = max / unit;
  const p = 10 ** Math.floor(Math.log10(v));
  const top = [1, 2, 5, 10].find((m) => m * p >= v)! * p;
  // 1000 KiB reads better as 1 MiB (which is still above max).
  return base !== 10 && top >= 1000 ? unit * base : top * unit;
}

/** An axis date: the day, or the day and time when the plot spans less than two days. */
function axisTime(t: number, spanMs: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return spanMs < 2 * 86_400_000 ? `${day.slice(5)} ${p(d.getHours())}:${p(d.getMinutes())}` : day;
}

/** One plot of `series` over time; a single backup plots as a lone point in the middle. */
export function renderPlot(series: PlotSeries[], opts: PlotOptions): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return "";
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t));
  const yMax = niceMax(Math.max(...all.map((p) => p.v)), opts.base);
  const w = WIDTH - PAD.left - PAD.right;
  const h = HEIGHT - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + (t1 === t0 ? w / 2 : ((t - t0) / (t1 - t0)) * w);
  const y = (v: number) => PAD.top + h - (v / yMax) * h;
  const grid = [0, 0.5, 1].map((f) => {
    const gy = y(yMax * f).toFixed(1);
    return (
      `<line class="grid" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${gy}" y2="${gy}"/>` +
      `<text class="axis" x="${PAD.left - 6}" y="${gy}" text-anchor="end" dominant-baseline="middle">` +
      `${esc(opts.format(yMax * f))}</text>`
    );
  });
  const lines = series.map((s) => {
    const xy = s.points.map((p) => [x(p.t).toFixed(1), y(p.v).toFixed(1)] as const);
    const dots = s.points.map(
      (p, i) =>
        `<circle cx="${xy[i]![0]}" cy="${xy[i]![1]}" r="3" fill="${s.color}"><title>${esc(p.title)}</title></circle>`,
    );
    const path = xy.map(([px, py]) => `${px},${py}`).join(" ");
    return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${path}"/>${dots.join("")}`;
  });
  // One series needs no legend: the plot's title names it.
  const legend = (series.length > 1 ? series : []).map(
    (s, i) =>
      `<text class="legend" x="${WIDTH - PAD.right - (series.length - i) * 80 + 14}" y="14">` +
      `<tspan fill="${s.color}">\u25A0</tspan> ${esc(s.label)}</text>`,
  );
  const label = `<text class="plot-title" x="${PAD.left}" y="14">${esc(opts.title)}</text>`;
  const span =
    t1 > t0
      ? `<text class="axis" x="${PAD.left}" y="${HEIGHT - 6}">${esc(axisTime(t0, t1 - t0))}</text>` +
        `<text class="axis" x="${WIDTH - PAD.right}" y="${HEIGHT - 6}" text-anchor="end">` +
        `${esc(axisTime(t1, t1 - t0))}</text>`
      : "";
  return (
    `<svg class="plot" role="img" aria-label="${esc(opts.title)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
    `width="${WIDTH}" height="${HEIGHT}" xmlns="http://www.w3.org/2000/svg">` +
    `${label}${legend.join("")}${grid.join("")}${span}${lines.join("")}</svg>`
  );
}
