/**
 * A database's own monitor (`[[database]] ping`): a start ping before its
 * backup and its outcome after, both with one run id. A dry run pings nothing.
 * Ping failures become warnings of the backup's result; they never change it.
 */
import type { ResolvedConfig, ResolvedDatabase } from "../config/index.ts";
import { formatBytes } from "../model/index.ts";
import { type PingOutcome, PingRun, pingTargetFor } from "../ping/index.ts";
import type { BackupResult } from "./backup-result.ts";

/** Where a run is, for a caller that bounds it in time: each database's backup starting and ending. */
export interface DatabaseProgress {
  database: string;
  phase: "start" | "end";
  /** The run id of the database's start ping, when it has a monitor. */
  rid: string | null;
}

/** What the database's monitor is told: a one-line summary, and the result's lines as the body. */
export function backupPingOutcome(r: BackupResult): PingOutcome {
  const summary = r.ok
    ? `${r.database}: backed up as ${r.id} (${formatBytes(r.rawSize ?? 0)} → ${formatBytes(r.storedSize ?? 0)}, ` +
      `${(r.durationMs / 1000).toFixed(1)}s)`
    : `${r.database}: backup failed: ${r.error}`;
  const lines = [summary, ...r.warnings.map((w) => `warning: ${w}`), ...r.notes];
  return { exitCode: r.ok ? 0 : r.exitCode || 1, summary, body: `${lines.join("\n")}\n` };
}

/** Runs one database's backup between its start and end pings (none on a dry run). */
export async function withDatabasePing(
  config: ResolvedConfig,
  db: ResolvedDatabase,
  dryRun: boolean,
  onDatabase: ((p: DatabaseProgress) => void) | undefined,
  run: () => Promise<BackupResult>,
): Promise<BackupResult> {
  const target = dryRun ? null : pingTargetFor(config, { database: db.name });
  const ping = target ? new PingRun(config, target) : null;
  onDatabase?.({ database: db.name, phase: "start", rid: ping?.rid ?? null });
  const warnings = ping ? await ping.start() : [];
  const r = await run();
  onDatabase?.({ database: db.name, phase: "end", rid: ping?.rid ?? null });
  if (ping) warnings.push(...(await ping.finish(backupPingOutcome(r))));
  r.warnings.push(...warnings);
  return r;
}
