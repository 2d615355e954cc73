/**
 * One database's backup history on the status page: a table, newest first,
 * and the plots of size and duration over time (oldest to newest).
 */
import { formatBytes, formatLocalTime, formatSpan, type PackFailure, storedFormat } from "../model/index.ts";
import type { FolderListing, StoredBackup } from "../store/index.ts";
import { esc } from "./html-escape.ts";
import { renderPlot } from "./html-plot.ts";
import { backupToJson } from "./list.ts";

/** What the page shows of one backup (all of it is in the plaintext manifest, encrypted or not). */
export interface HistoryRow {
  id: string;
  created_at: string;
  kind: string;
  /** `full`: a self-contained data file; `pages`: an incremental page map over shared packs. */
  type: "full" | "pages";
  raw_bytes: number;
  added_bytes: number;
  duration_ms: number;
  encrypted: boolean;
  state: "ok" | "failed" | "never" | "missing";
  verified_at: string | null;
  verified_level: string | null;
  reason: string | null;
}

function rowOf(b: StoredBackup, failures: PackFailure[], missing: boolean): HistoryRow {
  const j = backupToJson(b, failures);
  return {
    id: j.id,
    created_at: j.created_at,
    kind: j.kind,
    type: storedFormat(b.manifest) === "pages" ? "pages" : "full",
    raw_bytes: j.raw.size,
    added_bytes: j.added_bytes,
    duration_ms: b.manifest.duration_ms,
    encrypted: j.stored.encryption !== null,
    state: missing ? "missing" : j.verified_state,
    verified_at: j.last_verification?.at ?? null,
    verified_level: j.last_verification?.level ?? null,
    reason: missing ? "data file missing" : j.failed_reason,
  };
}

/** Every backup of `listing`, also those whose data file is gone, oldest first. */
export function historyRows(listing: FolderListing, failures: Map<string, PackFailure[]>): HistoryRow[] {
  const rows = [
    ...listing.backups.map((b) => rowOf(b, failures.get(b.manifest.id) ?? [], false)),
    ...(listing.missingData ?? []).map((b) => rowOf(b, [], true)),
  ];
  return rows.sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || (a.id < b.id ? -1 : 1));
}

/** `850 ms`, `12.3 s`, `4m 05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

const STATE_TEXT = { ok: "ok", failed: "FAILED", never: "never", missing: "DATA MISSING" } as const;

/** The state, level and age of the backup's latest verification, and under it why it failed. */
function stateCell(r: HistoryRow, nowMs: number): string {
  const level = r.verified_level ? ` (${r.verified_level})` : "";
  const at = r.verified_at ? ` ${formatSpan(nowMs - Date.parse(r.verified_at))} ago` : "";
  const title = r.verified_at ? ` title="${esc(formatLocalTime(new Date(r.verified_at)))}"` : "";
  const why = r.reason ? ` <div class="reason">${esc(r.reason)}</div>` : "";
  return `<span class="state-${r.state}"${title}>${STATE_TEXT[r.state]}</span>${esc(level)}<span class="muted">${esc(at)}</span>${why}`;
}

/** The history table, newest first; failed and missing backups are highlighted. */
export function renderHistoryTable(rows: HistoryRow[], now: Date): string {
  if (rows.length === 0) return '<p class="muted empty">No backups in this folder yet.</p>';
  const head =
    "<tr><th>Created</th><th>ID</th><th>Kind</th><th>Type</th><th class=num>Size</th>" +
    "<th class=num>Stored</th><th class=num>Duration</th><th>Encrypted</th><th>Verification</th></tr>";
  const body = [...rows].reverse().map((r) => {
    const bad = r.state === "failed" || r.state === "missing";
    return (
      `<tr class="backup${bad ? " bad" : ""}" data-backup-id="${esc(r.id)}" data-state="${r.state}">` +
      `<td>${esc(formatLocalTime(new Date(r.created_at)))}</td><td class="id">${esc(r.id)}</td>` +
      `<td>${esc(r.kind)}</td><td class="type">${r.type}</td>` +
      `<td class="num">${esc(formatBytes(r.raw_bytes))}</td><td class="num">${esc(formatBytes(r.added_bytes))}</td>` +
      `<td class="num">${esc(formatDuration(r.duration_ms))}</td><td class="encrypted">${r.encrypted ? "yes" : "no"}</td>` +
      `<td class="verification">${stateCell(r, now.getTime())}</td></tr>`
    );
  });
  return `<div class="table-wrap"><table class="history"><thead>${head}</thead><tbody>${body.join("")}</tbody></table></div>`;
}

/** The database size, what each backup stored, and each backup's duration over time; nothing for an empty history. */
export function renderHistoryPlots(rows: HistoryRow[]): string {
  if (rows.length === 0) return "";
  const point = (r: HistoryRow, v: number, what: string) => ({
    t: Date.parse(r.created_at),
    v,
    title: `${formatLocalTime(new Date(r.created_at))} ${r.id}: ${what}`,
  });
  const plot = (title: string, color: string, value: (r: HistoryRow) => number, format: (v: number) => string) =>
    renderPlot([{ label: title, color, points: rows.map((r) => point(r, value(r), format(value(r)))) }], {
      title,
      format,
      base: format === formatBytes ? 1024 : 10,
    });
  const size = plot("Database size", "#2f6fdb", (r) => r.raw_bytes, formatBytes);
  const stored = plot("Stored per backup", "#e07b00", (r) => r.added_bytes, formatBytes);
  const duration = plot("Backup duration", "#7b3fc4", (r) => r.duration_ms, formatDuration);
  return `<div class="plots">${size}${stored}${duration}</div>`;
}
