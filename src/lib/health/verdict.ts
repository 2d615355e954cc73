/**
 * The health verdict behind `stats --check`: a pure function from a stats
 * report and thresholds to one line per problem. No problem means healthy.
 * It is tuned so that a monitor pages within one check interval of a real
 * problem and never for a healthy setup (e.g. a brand-new database is not
 * "unverified" until it has had backups for longer than verify_max_age).
 */
import { describeShrink, describeWalStarvation, formatBytes, formatSpan } from "../model/index.ts";
import { describeProblem, type ListingProblem } from "../store/index.ts";
import { deliveryProblems } from "./deliveries.ts";
import type { DestinationStats } from "./remote.ts";
import type { DatabaseStats, StatsReport } from "./stats-report.ts";

/** Partials this old are not a backup in progress: something crashed and nobody cleaned up. */
export const STRAY_PARTIAL_AGE_MS = 24 * 60 * 60 * 1000;

export interface HealthThresholds {
  maxAgeMs: number;
  /** 0 disables the check. */
  verifyMaxAgeMs: number;
  /**
   * Only a restore test (level quick or full) counts for verifyMaxAgeMs: set
   * when this machine has an identity, so checksum-only runs are not enough.
   */
  restoreTestOnly?: boolean;
}

export interface FreeSpaceThreshold {
  bytes?: number;
  percent?: number;
}

function databaseProblems(d: DatabaseStats, t: HealthThresholds): string[] {
  const out: string[] = [];
  const name = d.database;
  // Freshness counts scheduled and manual backups only: a pre-restore copy may be of another file.
  if (!d.newest) out.push(d.future_dated.length ? `${name}: no backup dated before now` : `${name}: no backups`);
  else if (!d.newest_own) out.push(`${name}: no scheduled or manual backups (only pre-restore copies)`);
  else if (d.newest_own.age_ms > t.maxAgeMs) {
    out.push(`${name}: newest backup is ${formatSpan(d.newest_own.age_ms)} old (max_age ${formatSpan(t.maxAgeMs)})`);
  }
  // A wrong clock: such a backup never counts as fresh, and the clock (then or now) needs a look.
  for (const f of d.future_dated)
    out.push(
      `${name}: backup ${f.id} is dated ${f.created_at}, ${formatSpan(-f.age_ms)} ` +
        "in the future (the clock was wrong when it was taken, or is wrong now)",
    );
  const v = d.last_verification;
  if (v && !v.ok)
    out.push(
      `${name}: last verification failed (${v.id}, ${formatSpan(v.age_ms)} ago): ${v.problems[0] ?? "unknown problem"}`,
    );
  const verifyDue = t.verifyMaxAgeMs > 0 && d.oldest !== null && d.oldest.age_ms > t.verifyMaxAgeMs;
  const counted = t.restoreTestOnly ? d.last_restore_test : v;
  if (verifyDue && (!counted || counted.age_ms > t.verifyMaxAgeMs)) {
    const what = t.restoreTestOnly ? "restore-tested (verify --level quick or full)" : "verified";
    out.push(
      `${name}: not ${what} within verify_max_age ${formatSpan(t.verifyMaxAgeMs)}` +
        (counted ? ` (last ${formatSpan(counted.age_ms)} ago)` : " (never)"),
    );
  }
  const run = d.last_backup_run;
  if (run && !run.ok) out.push(`${name}: last backup run failed at ${run.ts}: ${run.error ?? "unknown error"}`);
  const stray = d.partials.filter((p) => p.age_ms > STRAY_PARTIAL_AGE_MS);
  if (stray.length) out.push(`${name}: ${stray.length} partial file(s) older than a day, e.g. ${stray[0]!.path}`);
  // A corrupt or missing backup stays a problem after newer ones verify OK: it must not be forgotten.
  const failed = d.failed_backups ?? [];
  for (const f of failed) {
    if (f.reason === "failed verification" && v && !v.ok && v.id === f.id) continue; // already the line above
    if (f.reason === "failed verification")
      out.push(`${name}: backup ${f.id}: latest verification failed (${formatSpan(f.age_ms ?? 0)} ago): ${f.detail}`);
    else if (f.reason === "pack failed verification") out.push(`${name}: backup ${f.id}: FAILED: ${f.detail}`);
    else out.push(`${name}: backup ${f.id}: data missing: ${f.detail}`);
  }
  const missing = new Set(failed.filter((f) => f.reason === "data missing").map((f) => f.id));
  out.push(...d.skipped_manifests.filter((p) => !missing.has(p.id)).map((p) => unreadable(name, p)));
  if (d.shrunk) out.push(`${describeShrink(name, d.shrunk.raw_size, d.shrunk)} (newest backup ${d.shrunk.id})`);
  const wal = d.wal_starved;
  if (wal) out.push(`${describeWalStarvation(name, wal, wal.raw_size)} (newest backup ${wal.id})`);
  return out;
}

/** A backup kept because its manifest cannot be read: nothing can restore it until someone looks. */
function unreadable(where: string, p: ListingProblem): string {
  return `${where}: unreadable backup ${p.id}: ${describeProblem(p)}`;
}

/**
 * A destination that cannot be read, whose copies fall behind the local
 * backups by more than max_age, or that holds backups it cannot read.
 */
function destinationProblems(d: DestinationStats, t: HealthThresholds): string[] {
  const where = `${d.database} @ ${d.destination}`;
  if (!d.ok) return [`${where}: cannot list the destination: ${d.error}`];
  const out = d.problems.map((p) => unreadable(where, p));
  if (d.count === 0 && d.missing > 0)
    out.unshift(
      `${where}: no copies yet (${d.missing} local backup${d.missing > 1 ? "s" : ""} ` +
        `not copied)${d.last_copy?.error ? `; last copy failed: ${d.last_copy.error}` : ""}`,
    );
  else if (d.lag_ms !== null && d.lag_ms > t.maxAgeMs)
    out.unshift(
      `${where}: newest copy is ${formatSpan(d.lag_ms)} behind ` +
        `the newest local backup (max_age ${formatSpan(t.maxAgeMs)})`,
    );
  return out;
}

/**
 * Given a report, per-database thresholds and the free-space floor, return
 * every problem as one line (empty when healthy).
 */
export function checkHealth(
  report: StatsReport,
  thresholdsFor: (database: string) => HealthThresholds,
  minFree: FreeSpaceThreshold,
): string[] {
  const problems = report.databases.flatMap((d) => databaseProblems(d, thresholdsFor(d.database)));
  for (const d of report.destinations ?? []) problems.push(...destinationProblems(d, thresholdsFor(d.database)));
  problems.push(...deliveryProblems(report.notifications ?? []));
  if (report.databases.length === 0)
    problems.push("no databases: none is configured and no backups exist, so nothing is being backed up");
  const vol = report.volume;
  if (!vol) return [...problems, `cannot read free space of ${report.backup_dir}`];
  const floor = Math.max(minFree.bytes ?? 0, ((minFree.percent ?? 0) / 100) * vol.total_bytes);
  if (vol.free_bytes < floor) {
    problems.push(
      `backup volume of ${vol.path} has ${formatBytes(vol.free_bytes)} free, ` +
        `below min_free_space (${formatBytes(floor)})`,
    );
  } else {
    // The next run stores one new backup per database; a database on snapshot_method = "vacuum" first writes
    // its raw image beside it (one database at a time), so the estimate leaves room for the largest one.
    const stored = report.databases.reduce((s, d) => s + (d.stored_bytes_newest ?? 0), 0);
    const need = stored + Math.max(0, ...report.databases.map((d) => d.raw_bytes_newest ?? 0));
    if (vol.free_bytes < need) {
      problems.push(
        `backup volume of ${vol.path} has ${formatBytes(vol.free_bytes)} free; ` +
          `the next backups need about ${formatBytes(need)}`,
      );
    }
  }
  return problems;
}
