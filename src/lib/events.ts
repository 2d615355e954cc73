/**
 * Turns outcomes into notifications (backup success/failure, health problems),
 * sends them, and records failed sends in the operation log. Returns warnings
 * for the caller to show; never throws, never changes an exit code.
 */
import type { BackupResult } from "./backup.ts";
import type { ResolvedConfig } from "./config.ts";
import type { CopyResult } from "./destinations/sync.ts";
import { formatBytes } from "./format.ts";
import { makeNotification, type Notification, notify } from "./notify.ts";
import { appendOpLog } from "./oplog.ts";
import { describeShrink } from "./shrink.ts";
import type { VerifyResult } from "./verify-run.ts";

export function backupNotification(r: BackupResult, rotated?: number): Notification {
  if (!r.ok) {
    return makeNotification({
      event: "failure",
      title: `sqlbak: backup of ${r.database} FAILED`,
      message: `Backup of ${r.database} (${r.source}) failed: ${r.error}`,
      database: r.database,
      path: r.source,
      duration_ms: r.durationMs,
      error: r.error,
    });
  }
  return makeNotification({
    event: "success",
    title: `sqlbak: ${r.database} backed up`,
    message: `Backup ${r.id} of ${r.database}: ${formatBytes(r.rawSize!)} → ${formatBytes(r.storedSize!)} in ${(r.durationMs / 1000).toFixed(1)}s${rotated ? `, ${rotated} rotated away` : ""}`,
    ...backupFields(r),
    duration_ms: r.durationMs,
    rotated,
  });
}

/** The facts of a taken backup that every event about it carries. */
function backupFields(r: BackupResult) {
  return { database: r.database, id: r.id, file: r.dataPath, path: r.source, raw_size: r.rawSize, stored_size: r.storedSize };
}

/**
 * A database that shrank (emptied, or to a small fraction of its previous
 * backup) is sent as a `failure` event: the backup worked, but a truncated
 * production file is exactly what an admin must hear about.
 */
export function shrinkNotification(r: BackupResult): Notification {
  const s = r.shrunk!;
  return makeNotification({
    event: "failure",
    title: `sqlbak: ${r.database} SHRANK to ${formatBytes(r.rawSize!)}`,
    message: describeShrink(r.database, r.rawSize!, s),
    ...backupFields(r),
    previous_id: s.previous_id,
    previous_size: s.previous_size,
    error: `database shrank from ${formatBytes(s.previous_size)} to ${formatBytes(r.rawSize!)}`,
  });
}

/** A failed copy to a destination is sent as a `failure` event: the off-site copy is what a dead disk leaves. */
export function copyNotification(c: CopyResult): Notification {
  return makeNotification({
    event: "failure",
    title: `sqlbak: copy of ${c.database} to ${c.destination} FAILED`,
    message: `Copying backups of ${c.database} to destination ${c.destination}${c.location ? ` (${c.location})` : ""} failed: ${c.error}. The local backup is complete; the next run uploads what is missing.`,
    database: c.database,
    destination: c.destination,
    error: c.error,
  });
}

/** A verification that failed (or could not be done) is sent as a `failure` event, like a failed backup. */
export function verifyNotification(r: VerifyResult, file?: string, destination?: string): Notification {
  const where = destination ? ` at destination ${destination}` : "";
  const what = r.error ? `could not be verified${where}` : `FAILED ${r.level} verification${where}`;
  return makeNotification({
    event: "failure",
    title: r.error ? `sqlbak: backup ${r.id} of ${r.database} could not be verified` : `sqlbak: verification of ${r.id} FAILED`,
    message: `Backup ${r.id} of ${r.database} ${what}: ${r.problems.join("; ")}`,
    database: r.database,
    destination,
    id: r.id,
    file,
    duration_ms: r.durationMs,
    error: r.problems.join("; "),
    problems: r.problems,
  });
}

export function healthNotification(problems: string[]): Notification {
  return makeNotification({
    event: "health",
    title: `sqlbak: ${problems.length} health problem${problems.length > 1 ? "s" : ""}`,
    message: problems.join("\n"),
    problems,
  });
}

/** Sends each notification; returns one warning per failed channel, each also logged. */
export async function sendNotifications(config: ResolvedConfig, notes: Notification[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const n of notes) {
    for (const w of await notify(config.notify, n)) {
      warnings.push(w);
      appendOpLog(config.logFile, { op: "notify", event: n.event, database: n.database, ok: false, error: w });
    }
  }
  return warnings;
}
