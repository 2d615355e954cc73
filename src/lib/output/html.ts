/**
 * The status page of `stats --html`: one self-contained HTML file (inline
 * style and SVG, no script, no external asset) with the health verdict, and
 * per database its facts, problems, history table and plots, then the
 * destinations and the backup volume. Every string from data is escaped.
 */
import { statSync } from "node:fs";
import type { DatabaseStats, DestinationStats, StatsReport } from "../health/index.ts";
import { formatBytes, formatLocalTime, formatSpan, fsErrorMessage, OperationError } from "../model/index.ts";
import type { FolderListing } from "../store/index.ts";
import { writeFileAtomic } from "../system/index.ts";
import { esc } from "./html-escape.ts";
import { historyRows, renderHistoryPlots, renderHistoryTable } from "./html-history.ts";
import { staleBanner } from "./html-stale.ts";
import { STATUS_PAGE_CSS } from "./html-style.ts";
import { packFailuresOfListings } from "./list.ts";

export interface StatusPageInput {
  report: StatsReport;
  /** What `stats --check` would print, one line each (empty: healthy). */
  problems: string[];
  /** The listings the report was gathered from: the history rows come from their manifests. */
  listings: FolderListing[];
  version: string;
  /** A page older than this (max_age) warns, when opened, that it may be out of date. */
  staleAfterMs: number;
}

/** The problems that name `database` (lines start with `name: ` or `name @ destination: `). */
function problemsOf(problems: string[], database: string): string[] {
  return problems.filter((p) => p.startsWith(`${database}: `) || p.startsWith(`${database} @ `));
}

function problemList(problems: string[]): string {
  return problems.length
    ? `<ul class="problems">${problems.map((p) => `<li class="problem">${esc(p)}</li>`).join("")}</ul>`
    : "";
}

function ago(iso: string, ageMs: number): string {
  return `${formatLocalTime(new Date(iso))} (${formatSpan(ageMs)} ago)`;
}

function verificationText(v: DatabaseStats["last_verification"]): string {
  if (!v) return '<span class="state-never">never</span>';
  const state = v.ok ? '<span class="state-ok">ok</span>' : '<span class="state-failed">FAILED</span>';
  const why = v.ok ? "" : `: ${esc(v.problems[0] ?? "unknown problem")}`;
  return `${state} (${esc(v.level)}) ${esc(ago(v.at, v.age_ms))} <span class="muted">${esc(v.id)}</span>${why}`;
}

function facts(d: DatabaseStats): string {
  const c = d.count;
  const run = d.last_backup_run;
  const rows: [string, string][] = [
    ["backups", esc(`${c.total} (scheduled ${c.scheduled}, manual ${c.manual}, pre-restore ${c["pre-restore"]})`)],
    [
      "stored",
      c.total
        ? esc(`${formatBytes(d.stored_bytes)} for ${formatBytes(d.raw_bytes)} raw (ratio ${d.compression_ratio}x)`)
        : "-",
    ],
    [
      "newest",
      d.newest
        ? `${esc(ago(d.newest.created_at, d.newest.age_ms))} <span class="muted">${esc(d.newest.id)}</span>`
        : "-",
    ],
    ["last verification", verificationText(d.last_verification)],
    ["last restore test", `<span class="restore-test">${verificationText(d.last_restore_test)}</span>`],
    [
      "last run",
      run
        ? `${run.ok ? '<span class="state-ok">ok</span>' : `<span class="state-failed">FAILED</span>: ${esc(run.error ?? "unknown error")}`} ${esc(formatLocalTime(new Date(run.ts)))}`
        : "-",
    ],
  ];
  return `<dl class="facts">${rows.map(([k, v]) => `<dt>${k}</dt><dd data-fact="${k}">${v}</dd>`).join("")}</dl>`;
}

function databaseSection(
  d: DatabaseStats,
  listing: FolderListing | undefined,
  page: StatusPageInput,
  i: number,
): string {
  const failures = packFailuresOfListings(listing ? [listing] : []);
  const rows = listing ? historyRows(listing, failures) : [];
  const mine = problemsOf(page.problems, d.database);
  const encrypted = rows.some((r) => r.encrypted);
  const badges = [
    d.configured ? "" : '<span class="badge">not in the config</span>',
    encrypted ? '<span class="badge">encrypted</span>' : "",
    rows.some((r) => r.type === "pages") ? '<span class="badge">incremental (pages)</span>' : "",
    mine.length ? `<span class="badge bad">${mine.length} problem${mine.length > 1 ? "s" : ""}</span>` : "",
  ].join("");
  const note = encrypted
    ? '<p class="muted">Encrypted backups: times, sizes, kinds and verifications are shown; row counts and ' +
      "source details stay sealed in the backups.</p>"
    : "";
  return (
    `<section class="card database${mine.length ? " unhealthy" : ""}" id="db-${i}" data-database="${esc(d.database)}">` +
    `<h2>${esc(d.database)}${badges}</h2>${problemList(mine)}${facts(d)}${note}` +
    `${renderHistoryPlots(rows)}<h3>History</h3>${renderHistoryTable(rows, new Date(page.report.generated_at))}</section>`
  );
}

function destinationStatus(d: DestinationStats): string {
  if (!d.ok) return `<span class="state-failed">unreachable</span>: ${esc(d.error ?? "")}`;
  if (d.lag_ms === null) return d.missing ? esc(`${d.missing} not copied`) : "-";
  if (d.lag_ms === 0 && d.missing === 0) return '<span class="state-ok">in sync</span>';
  return `<span class="state-never">${esc(`${formatSpan(d.lag_ms)} behind, ${d.missing} not copied`)}</span>`;
}

function destinationsSection(ds: DestinationStats[] | undefined): string {
  if (!ds?.length) return "";
  const rows = ds.map((d) => {
    const bad = !d.ok || d.problems.length > 0;
    return (
      `<tr class="destination${bad ? " bad" : ""}" data-destination="${esc(d.destination)}" data-database="${esc(d.database)}">` +
      `<td>${esc(d.database)}</td><td>${esc(d.destination)}</td><td>${esc(d.location ?? "-")}</td>` +
      `<td class="num">${d.ok ? d.count : "-"}</td><td class="num">${d.ok ? esc(formatBytes(d.stored_bytes)) : "-"}</td>` +
      `<td>${d.newest ? esc(ago(d.newest.created_at, d.newest.age_ms)) : "-"}</td><td class="status">${destinationStatus(d)}</td></tr>`
    );
  });
  return (
    '<section class="card" id="destinations"><h2>Destinations</h2><div class="table-wrap"><table>' +
    "<thead><tr><th>Database</th><th>Destination</th><th>Location</th><th class=num>Copies</th>" +
    `<th class=num>Stored</th><th>Newest copy</th><th>Status</th></tr></thead><tbody>${rows.join("")}</tbody></table></div></section>`
  );
}

function volumeSection(r: StatsReport): string {
  const v = r.volume;
  const t = r.totals;
  const free = v
    ? `${formatBytes(v.free_bytes)} free of ${formatBytes(v.total_bytes)} (${v.total_bytes ? Math.round((v.free_bytes / v.total_bytes) * 100) : 0}%)`
    : "unknown";
  const leftovers = (r.staging_leftovers ?? []).map((s) => `leftover download ${s.path} (${formatSpan(s.age_ms)} old)`);
  return (
    `<section class="card" id="volume"><h2>Backup volume</h2><dl class="facts"><dt>folder</dt><dd>${esc(r.backup_dir)}</dd>` +
    `<dt>free space</dt><dd>${esc(free)}</dd><dt>total</dt><dd>${esc(
      `${t.databases} database${t.databases === 1 ? "" : "s"}, ${t.backups} backup${t.backups === 1 ? "" : "s"}, ${formatBytes(t.stored_bytes)} stored`,
    )}</dd></dl>${leftovers.length ? `<ul>${leftovers.map((l) => `<li>${esc(l)}</li>`).join("")}</ul>` : ""}</section>`
  );
}

/** The whole page as one string; pure, so the same input always renders the same page. */
export function renderStatusPage(page: StatusPageInput): string {
  const { report, problems } = page;
  const byName = new Map(page.listings.map((l) => [l.database, l]));
  const n = problems.length;
  const verdict = n
    ? `<p class="verdict bad">${n} problem${n > 1 ? "s" : ""}</p>${problemList(problems)}`
    : '<p class="verdict ok">Healthy: no problems found.</p>';
  const dbs = report.databases.length
    ? report.databases.map((d, i) => databaseSection(d, byName.get(d.database), page, i)).join("")
    : '<section class="card"><p class="muted empty">No databases: none is configured and no backups exist.</p></section>';
  const title = `sqlbak status${n ? ` (${n} problem${n > 1 ? "s" : ""})` : ""}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sqlbak ${esc(page.version)}"><title>${esc(title)}</title><style>${STATUS_PAGE_CSS}</style></head>
<body><main><header><h1>sqlbak status</h1><p class="meta">Generated ${esc(formatLocalTime(new Date(report.generated_at)))} for ${esc(report.backup_dir)}</p></header>
${staleBanner(report.generated_at, page.staleAfterMs, formatSpan(page.staleAfterMs))}
<section class="card${n ? " unhealthy" : ""}" id="verdict" data-healthy="${n ? "false" : "true"}">${verdict}</section>
${dbs}${destinationsSection(report.destinations)}${volumeSection(report)}
<footer>sqlbak ${esc(page.version)} · the state when the page was written; <code>sqlbak stats --check</code> (with <code>status_page</code>) or <code>sqlbak stats --html</code> writes it anew</footer></main></body></html>
`;
}

/**
 * Renders the page and writes it to `path` atomically (temp file, fsync, rename, folder fsync), so a web
 * server serving it never sees half a page. A new page is 0644, to be served; a page already there keeps its mode.
 */
export function writeStatusPage(path: string, page: StatusPageInput): void {
  let mode = 0o644;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    // no page yet: the default mode
  }
  try {
    writeFileAtomic(path, renderStatusPage(page), mode);
  } catch (err) {
    throw new OperationError(fsErrorMessage(err, "write the status page", path), { cause: err });
  }
}
