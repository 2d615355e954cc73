/** The human layout of `stats`: a small block per database, then the volume and totals. */

import type { BackupRef, DatabaseStats, DestinationStats, StatsReport } from "../health/index.ts";
import { formatBytes, formatLocalTime, formatSpan, renderTable } from "../model/index.ts";

function when(r: BackupRef | null): string {
  return r ? `${formatLocalTime(new Date(r.created_at))} (${formatSpan(r.age_ms)} ago)  ${r.id}` : "-";
}

function verification(v: DatabaseStats["last_verification"]): string {
  return v
    ? `${v.ok ? "ok" : "FAILED"} (${v.level}) ${formatLocalTime(new Date(v.at))} (${formatSpan(v.age_ms)} ago)  ${v.id}`
    : "never";
}

/** "saved 97%": the share of the raw sizes that compression and shared pages save. */
function saving(d: Pick<DatabaseStats, "raw_bytes" | "saved_bytes">): string {
  if (d.raw_bytes <= 0) return "saved 0%";
  const pct = (d.saved_bytes / d.raw_bytes) * 100;
  return pct >= 0 ? `saved ${pct.toFixed(pct >= 99.95 || pct < 10 ? 1 : 0)}%` : `${(-pct).toFixed(0)}% over`;
}

function databaseRows(d: DatabaseStats): string[][] {
  const c = d.count;
  const run = d.last_backup_run;
  const bad = d.failed_backups ?? [];
  const missing = new Set(bad.filter((f) => f.reason === "data missing").map((f) => f.id));
  const unreadable = d.skipped_manifests.filter((p) => !missing.has(p.id));
  return [
    ["backups", `${c.total} (scheduled ${c.scheduled}, manual ${c.manual}, pre-restore ${c["pre-restore"]})`],
    [
      "stored",
      c.total
        ? `${formatBytes(d.stored_bytes)} for ${formatBytes(d.raw_bytes)} raw (${saving(d)}), ` +
          `ratio ${d.compression_ratio}x, newest ${formatBytes(d.raw_bytes_newest!)} raw / ` +
          `${formatBytes(d.added_bytes_newest!)} added`
        : "-",
    ],
    ["oldest", when(d.oldest)],
    ["newest", when(d.newest)],
    ...(d.future_dated.length
      ? [["future", `${d.future_dated.length} dated after now (wrong clock?), e.g. ${d.future_dated[0]!.id}`]]
      : []),
    ["verified", verification(d.last_verification)],
    ["restore test", verification(d.last_restore_test)],
    ["last run", run ? `${run.ok ? "ok" : `FAILED: ${run.error}`} at ${formatLocalTime(new Date(run.ts))}` : "-"],
    [
      "failures",
      d.failures_since_success.length
        ? `${d.failures_since_success.length} since the last success`
        : "none since the last success",
    ],
    [
      "partials",
      d.partials.length
        ? d.partials.map((p) => `${p.path} (${formatBytes(p.size)}, ${formatSpan(p.age_ms)} old)`).join("; ")
        : "none",
    ],
    ...(d.pre_restore_files?.length
      ? [
          [
            "pre-restore files",
            `${d.pre_restore_files.length} beside the database (${formatBytes(
              d.pre_restore_files.reduce((s, f) => s + f.size, 0),
            )}), newest ${d.pre_restore_files[0]!.file} (${formatSpan(d.pre_restore_files[0]!.age_ms)} old)`,
          ],
        ]
      : []),
    ...(bad.length ? [["bad", bad.map((f) => `${f.id} (${f.reason}: ${f.detail})`).join("; ")]] : []),
    ...(unreadable.length ? [["unreadable", unreadable.map((p) => `${p.id} (${p.reason})`).join("; ")]] : []),
  ];
}

export function renderStats(report: StatsReport): string {
  const blocks = report.databases.map((d) => {
    const table = renderTable(["", ""], databaseRows(d))
      .split("\n")
      .slice(1)
      .map((l) => `  ${l}`);
    return [`${d.database}${d.configured ? "" : "  (not in the config)"}`, ...table].join("\n");
  });
  if (report.destinations?.length) blocks.push(renderDestinations(report.destinations));
  const vol = report.volume;
  const t = report.totals;
  blocks.push(
    [
      ...(report.staging_leftovers ?? []).map(
        (s) => `leftover download ${s.path} (${formatSpan(s.age_ms)} old; removed after a day)`,
      ),
      vol
        ? `volume ${vol.path}: ${formatBytes(vol.free_bytes)} free of ${formatBytes(vol.total_bytes)}`
        : `volume ${report.backup_dir}: unknown`,
      `total: ${t.databases} database${t.databases === 1 ? "" : "s"}, ${t.backups} ` +
        `backup${t.backups === 1 ? "" : "s"}, ${formatBytes(t.stored_bytes)}` +
        (t.backups ? ` for ${formatBytes(t.raw_bytes)} raw (${saving(t)})` : ""),
    ].join("\n"),
  );
  return blocks.join("\n\n");
}

function renderDestinations(ds: DestinationStats[]): string {
  const rows = ds.map((d) => [
    `${d.database} @ ${d.destination}`,
    d.ok ? String(d.count) : "-",
    d.ok ? formatBytes(d.stored_bytes) : "-",
    d.newest ? `${formatLocalTime(new Date(d.newest.created_at))} (${formatSpan(d.newest.age_ms)} ago)` : "-",
    !d.ok
      ? `UNREACHABLE: ${d.error}`
      : d.lag_ms === null
        ? d.missing
          ? `${d.missing} not copied`
          : "-"
        : d.lag_ms === 0 && d.missing === 0
          ? "up to date"
          : `${formatSpan(d.lag_ms)} behind, ${d.missing} not copied`,
  ]);
  const unreadable = ds.flatMap((d) =>
    (d.problems ?? []).map((p) => `  ${d.database} @ ${d.destination}: unreadable ${p.id} (${p.reason})`),
  );
  return [
    `destinations\n${renderTable(["", "COPIES", "STORED", "NEWEST", "LAG"], rows)
      .split("\n")
      .map((l) => `  ${l}`)
      .join("\n")}`,
    ...unreadable,
  ].join("\n");
}
