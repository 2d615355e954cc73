/**
 * The status report of `sqlbak report`: a pure function from what `stats`
 * and `stats --check` compute (the stats report, the problems), the listings
 * and the op log, over a window of days, to plain text for an email or chat
 * message and the same facts as JSON (docs/report.md). It arrives whether or
 * not anything failed: an admin who stops getting it knows the job stopped.
 */
import { addedBytes, formatBytes, formatLocalTime, formatSpan, renderTable } from "../model/index.ts";
import type { FolderListing, LoggedEntry } from "../store/index.ts";
import type { DestinationStats } from "./remote.ts";
import type { DatabaseStats, StatsReport } from "./stats-report.ts";

export const DEFAULT_REPORT_DAYS = 7;
const DAY_MS = 86_400_000;
/** Failures listed per database in the text; the JSON has them all. */
const TEXT_FAILURES_SHOWN = 3;

export interface ReportInput {
  stats: StatsReport;
  /** The `stats --check` verdict: one line per problem, empty when healthy. */
  problems: string[];
  listings: FolderListing[];
  log: LoggedEntry[];
}

export interface ReportOptions {
  days: number;
  now: Date;
  host: string;
}

type VerificationFact = Pick<
  NonNullable<DatabaseStats["last_verification"]>,
  "id" | "at" | "level" | "ok" | "problems"
>;

export interface DestinationFact {
  destination: string;
  /** `in sync`: every local backup is there; `behind`: some are missing; `unreachable`: it could not be listed. */
  state: "in sync" | "behind" | "unreachable";
  copies: number;
  missing: number;
  lag_ms: number | null;
  error?: string;
}

export interface DatabaseReport {
  database: string;
  /** Backups taken in the window (successful runs in the op log, or kept backups dated in it if more), failed runs. */
  backups: { taken: number; failed_runs: number; kept: number };
  /** The newest scheduled or manual backup (a pre-restore copy may be of another file). */
  newest: { id: string; created_at: string; age_ms: number; raw_bytes: number } | null;
  size: {
    /** The database's size in its newest backup. */
    raw_bytes: number | null;
    /** Its size in the newest backup before the window (or the first one in it); null without backups. */
    raw_bytes_before: number | null;
    before_at: string | null;
    growth_bytes: number | null;
    /** What every kept backup holds together, and what the backups of the window added to it. */
    stored_bytes: number;
    added_bytes: number;
  };
  last_verification: VerificationFact | null;
  /** The newest verification at level quick or full: a real restore. */
  last_restore_test: VerificationFact | null;
  verifications: { runs: number; failed: number };
  /** Failed operations on this database within the window, oldest first. */
  failures: { ts: string; op: string; error?: string }[];
  destinations: DestinationFact[];
  /** The `stats --check` lines about this database (and its copies). */
  problems: string[];
}

export interface ReportFacts {
  generated_at: string;
  host: string;
  window: { days: number; from: string; to: string };
  healthy: boolean;
  databases: DatabaseReport[];
  volume: { path: string; free_bytes: number; total_bytes: number; free_percent: number } | null;
  totals: { databases: number; backups_taken: number; stored_bytes: number; added_bytes: number };
  /** Every `stats --check` line, this report's verdict. */
  problems: string[];
}

export interface StatusReport {
  title: string;
  text: string;
  facts: ReportFacts;
}

function verificationFact(v: DatabaseStats["last_verification"]): VerificationFact | null {
  return v ? { id: v.id, at: v.at, level: v.level, ok: v.ok, problems: v.problems } : null;
}

function destinationFact(d: DestinationStats): DestinationFact {
  const base = { destination: d.destination, copies: d.count, missing: d.missing, lag_ms: d.lag_ms };
  if (!d.ok) return { ...base, state: "unreachable", ...(d.error ? { error: d.error } : {}) };
  return { ...base, state: d.missing === 0 && (d.lag_ms ?? 0) === 0 ? "in sync" : "behind" };
}

function belongsTo(problem: string, database: string): boolean {
  return problem.startsWith(`${database}: `) || problem.startsWith(`${database} @ `);
}

function databaseReport(
  d: DatabaseStats,
  listing: FolderListing | undefined,
  input: ReportInput,
  fromMs: number,
  nowMs: number,
): DatabaseReport {
  const inWindow = (iso: string) => Date.parse(iso) >= fromMs && Date.parse(iso) <= nowMs;
  const mine = input.log.filter((e) => e.database === d.database && inWindow(e.ts));
  const runs = mine.filter((e) => e.op === "backup");
  const okRuns = runs.filter((e) => e.ok);
  const manifests = (listing?.backups ?? []).map((b) => b.manifest);
  const kept = manifests.filter((m) => inWindow(m.created_at));
  // Rotation may have removed some of the window's backups: the op log remembers them.
  const fromLog = okRuns.length >= kept.length;
  const added = fromLog
    ? okRuns.reduce((s, e) => s + (e.stored_size ?? 0), 0)
    : kept.reduce((s, m) => s + addedBytes(m), 0);
  // Sizes follow scheduled and manual backups: a pre-restore copy may be of another file.
  const present = manifests.filter((m) => m.kind !== "pre-restore" && Date.parse(m.created_at) <= nowMs);
  const newest = present.at(-1);
  const baseline = present.filter((m) => Date.parse(m.created_at) < fromMs).at(-1) ?? kept[0];
  const verifies = mine.filter((e) => e.op === "verify");
  return {
    database: d.database,
    backups: {
      taken: Math.max(okRuns.length, kept.length),
      failed_runs: runs.length - okRuns.length,
      kept: d.count.total,
    },
    newest: newest
      ? {
          id: newest.id,
          created_at: newest.created_at,
          age_ms: nowMs - Date.parse(newest.created_at),
          raw_bytes: newest.raw.size,
        }
      : null,
    size: {
      raw_bytes: newest?.raw.size ?? null,
      raw_bytes_before: baseline?.raw.size ?? null,
      before_at: baseline?.created_at ?? null,
      growth_bytes: newest && baseline ? newest.raw.size - baseline.raw.size : null,
      stored_bytes: d.stored_bytes,
      added_bytes: added,
    },
    last_verification: verificationFact(d.last_verification),
    last_restore_test: verificationFact(d.last_restore_test),
    verifications: { runs: verifies.length, failed: verifies.filter((e) => !e.ok).length },
    failures: mine.filter((e) => !e.ok).map((e) => ({ ts: e.ts, op: e.op, ...(e.error ? { error: e.error } : {}) })),
    destinations: (input.stats.destinations ?? []).filter((x) => x.database === d.database).map(destinationFact),
    problems: input.problems.filter((p) => belongsTo(p, d.database)),
  };
}

/** Given what `stats --check` saw, the op log and a window of `days`, return the report's facts. */
export function reportFacts(input: ReportInput, opts: ReportOptions): ReportFacts {
  const nowMs = opts.now.getTime();
  const fromMs = nowMs - opts.days * DAY_MS;
  const byName = new Map(input.listings.map((l) => [l.database, l]));
  const databases = input.stats.databases.map((d) => databaseReport(d, byName.get(d.database), input, fromMs, nowMs));
  const v = input.stats.volume;
  return {
    generated_at: opts.now.toISOString(),
    host: opts.host,
    window: { days: opts.days, from: new Date(fromMs).toISOString(), to: opts.now.toISOString() },
    healthy: input.problems.length === 0,
    databases,
    volume: v
      ? {
          ...v,
          free_percent: v.total_bytes > 0 ? Math.round((v.free_bytes / v.total_bytes) * 1000) / 10 : 0,
        }
      : null,
    totals: {
      databases: databases.length,
      backups_taken: databases.reduce((s, d) => s + d.backups.taken, 0),
      stored_bytes: databases.reduce((s, d) => s + d.size.stored_bytes, 0),
      added_bytes: databases.reduce((s, d) => s + d.size.added_bytes, 0),
    },
    problems: input.problems,
  };
}

function at(iso: string, nowMs: number): string {
  return `${formatLocalTime(new Date(iso))} (${formatSpan(nowMs - Date.parse(iso))} ago)`;
}

function verificationText(v: VerificationFact | null, nowMs: number): string {
  if (!v) return "never";
  const why = v.ok ? "" : `: ${v.problems[0] ?? "unknown problem"}`;
  return `${v.ok ? "ok" : "FAILED"} (${v.level}) ${at(v.at, nowMs)}  ${v.id}${why}`;
}

function sameVerification(a: VerificationFact | null, b: VerificationFact | null): boolean {
  return a !== null && b !== null && a.id === b.id && a.at === b.at;
}

function signed(bytes: number): string {
  return bytes < 0 ? `-${formatBytes(-bytes)}` : `+${formatBytes(bytes)}`;
}

function destinationText(d: DestinationFact): string {
  if (d.state === "unreachable") return `${d.destination}: UNREACHABLE${d.error ? ` (${d.error})` : ""}`;
  if (d.state === "in sync") return `${d.destination}: in sync (${d.copies} ${d.copies === 1 ? "copy" : "copies"})`;
  const lag = d.lag_ms ? `, newest copy ${formatSpan(d.lag_ms)} behind` : "";
  return `${d.destination}: BEHIND (${d.missing} not copied${lag})`;
}

function databaseBlock(d: DatabaseReport, nowMs: number): string {
  const b = d.backups;
  const s = d.size;
  const rows: string[][] = [
    ["backups", `${b.taken} taken${b.failed_runs ? `, ${b.failed_runs} FAILED runs` : ""}; ${b.kept} kept in all`],
    ["newest", d.newest ? `${at(d.newest.created_at, nowMs)}  ${d.newest.id}` : "none"],
    [
      "size",
      s.raw_bytes === null
        ? "-"
        : `${formatBytes(s.raw_bytes)}` +
          (s.growth_bytes !== null && s.before_at
            ? ` (${signed(s.growth_bytes)} since ${formatLocalTime(new Date(s.before_at))})`
            : ""),
    ],
    ["stored", `${formatBytes(s.stored_bytes)} in all, ${formatBytes(s.added_bytes)} added in the window`],
    ["restore test", verificationText(d.last_restore_test, nowMs)],
    // The newest verification, when it is not that restore test (a checksum-only run, or a failure since).
    ...(sameVerification(d.last_verification, d.last_restore_test)
      ? []
      : [["verified", verificationText(d.last_verification, nowMs)]]),
    ["verify runs", `${d.verifications.runs} in the window, ${d.verifications.failed} failed`],
  ];
  if (d.destinations.length) rows.push(["destinations", d.destinations.map(destinationText).join("; ")]);
  if (d.failures.length) {
    const shown = d.failures.slice(-TEXT_FAILURES_SHOWN).map((f) => `${f.op} ${f.ts}: ${f.error ?? "failed"}`);
    const more = d.failures.length - shown.length;
    rows.push(["failures", `${d.failures.length}: ${shown.join("; ")}${more ? `; and ${more} more` : ""}`]);
  }
  rows.push(["problems", d.problems.length ? `${d.problems.length} (listed below)` : "none"]);
  const table = renderTable(["", ""], rows).split("\n").slice(1);
  return [d.database, ...table.map((l) => `  ${l}`)].join("\n");
}

/**
 * The report: a one-line title (the verdict in it), the text an admin reads
 * in an email or chat message, and its facts as JSON (docs/report.md).
 */
export function buildReport(input: ReportInput, opts: ReportOptions): StatusReport {
  const facts = reportFacts(input, opts);
  const nowMs = opts.now.getTime();
  const span = opts.days === DEFAULT_REPORT_DAYS ? "weekly report" : `report, last ${opts.days} days`;
  const n = facts.problems.length;
  const verdict = n ? `${n} problem${n > 1 ? "s" : ""}` : "healthy";
  const title = `sqlbak ${span} for ${opts.host}: ${verdict}`;
  const head = [
    title,
    `${facts.databases.length} database${facts.databases.length === 1 ? "" : "s"}, ` +
      `${formatLocalTime(new Date(facts.window.from))} to ${formatLocalTime(opts.now)}`,
  ];
  const v = facts.volume;
  const disk = v
    ? `disk: ${v.path} has ${formatBytes(v.free_bytes)} free of ${formatBytes(v.total_bytes)} (${v.free_percent}%)`
    : `disk: cannot read free space of ${input.stats.backup_dir}`;
  const problems = n ? ["problems:", ...facts.problems.map((p) => `  - ${p}`)] : ["problems: none"];
  const blocks = [head.join("\n"), ...facts.databases.map((d) => databaseBlock(d, nowMs)), disk, problems.join("\n")];
  return { title, text: `${blocks.join("\n\n")}\n`, facts };
}
