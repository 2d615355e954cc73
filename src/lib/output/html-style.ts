/** The status page's inline style sheet: system fonts, no external asset, readable printed or in dark mode. */
export const STATUS_PAGE_CSS = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5d6677; --bg: #f6f7f9; --card: #fff; --line: #dde1e7;
  --ok: #1a7f37; --bad: #c62828; --bad-bg: #fdecec; --warn: #9a6700; --accent: #2f6fdb; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #9aa3b2; --bg: #14171c; --card: #1c2027;
  --line: #2c323c; --bad-bg: #3a1d1f; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 16px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.meta, .muted { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.verdict { font-weight: 600; font-size: 16px; }
.verdict.ok { color: var(--ok); }
.verdict.bad { color: var(--bad); }
.card.unhealthy { border-color: var(--bad); background: var(--bad-bg); }
#verdict[data-healthy="true"] { border-color: var(--ok); }
.verdict { margin: 0; }
ul.problems { margin: 8px 0 0; padding-left: 20px; }
li.problem { color: var(--bad); margin: 2px 0; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 10px; border: 1px solid var(--line);
  color: var(--muted); margin-left: 6px; vertical-align: middle; font-weight: normal; }
.badge.bad { color: var(--bad); border-color: var(--bad); }
.plots { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0 4px; }
svg.plot { background: var(--bg); border-radius: 6px; max-width: 100%; height: auto; }
svg.plot .grid { stroke: var(--line); stroke-width: 1; }
svg.plot text { fill: var(--muted); font-size: 10px; }
svg.plot .plot-title, svg.plot .legend { fill: var(--fg); font-size: 11px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
td.verification { white-space: normal; min-width: 180px; }
td.verification .reason { color: var(--bad); font-size: 12px; overflow-wrap: anywhere; }
tr.bad td { background: var(--bad-bg); }
.state-ok { color: var(--ok); }
.state-failed, .state-missing { color: var(--bad); font-weight: 600; }
.state-never { color: var(--muted); }
.stale { color: var(--warn); border-color: var(--warn); font-weight: 600; }
footer { color: var(--muted); font-size: 12px; margin: 24px 0 0; }
`;
