/**
 * The events a backup run sends (docs/events.md): its start and outcome, a
 * database that shrank, a copy to a destination that failed, and what its
 * rotation removed.
 */

import type { ResolvedDatabase } from "../config/index.ts";
import type { CopyResult } from "../destinations/index.ts";
import { describeShrink, formatBytes } from "../model/index.ts";
import { makeNotification, type Notification } from "../notify/index.ts";
import type { BackupResult } from "./backup-result.ts";

/** `backup.start`, one per database, as the run starts. */
export function backupStartNotification(db: ResolvedDatabase, kind: string): Notification {
  return makeNotification({
    event: "backup.start",
    title: `sqlbak: backing up ${db.name}`,
    message: `Backup of ${db.name} (${db.path}) started`,
    database: db.name,
    path: db.path,
    kind,
  });
}

export function backupNotification(r: BackupResult, rotated?: number): Notification {
  if (!r.ok) {
    return makeNotification({
      event: "backup.failure",
      title: `sqlbak: backup of ${r.database} FAILED`,
      message: `Backup of ${r.database} (${r.source}) failed: ${r.error}`,
      database: r.database,
      path: r.source,
      duration_ms: r.durationMs,
      error: r.error,
    });
  }
  return makeNotification({
    event: "backup.success",
    title: `sqlbak: ${r.database} backed up`,
    message:
      `Backup ${r.id} of ${r.database}: ${formatBytes(r.rawSize!)} → ${formatBytes(r.storedSize!)} ` +
      `in ${(r.durationMs / 1000).toFixed(1)}s${rotated ? `, ${rotated} rotated away` : ""}`,
    ...backupFields(r),
    duration_ms: r.durationMs,
    rotated,
  });
}

/** The facts of a taken backup that every event about it carries. */
function backupFields(r: BackupResult) {
  return {
    database: r.database,
    id: r.id,
    file: r.dataPath,
    path: r.source,
    raw_size: r.rawSize,
    stored_size: r.storedSize,
  };
}

/**
 * A database that shrank (emptied, or to a small fraction of its previous
 * backup) is sent as a `backup.failure` event: the backup worked, but a truncated
 * production file is exactly what an admin must hear about.
 */
export function shrinkNotification(r: BackupResult): Notification {
  const s = r.shrunk!;
  return makeNotification({
    event: "backup.failure",
    title: `sqlbak: ${r.database} SHRANK to ${formatBytes(r.rawSize!)}`,
    message: describeShrink(r.database, r.rawSize!, s),
    ...backupFields(r),
    previous_id: s.previous_id,
    previous_size: s.previous_size,
    error: `database shrank from ${formatBytes(s.previous_size)} to ${formatBytes(r.rawSize!)}`,
  });
}

/** A failed copy to a destination is sent as `copy.failure`: the off-site copy is what a dead disk leaves. */
export function copyNotification(c: CopyResult): Notification {
  return makeNotification({
    event: "copy.failure",
    title: `sqlbak: copy of ${c.database} to ${c.destination} FAILED`,
    message:
      `Copying backups of ${c.database} to destination ${c.destination}${c.location ? ` (${c.location})` : ""} ` +
      `failed: ${c.error}. The local backup is complete; the next run uploads what is missing.`,
    database: c.database,
    destination: c.destination,
    error: c.error,
  });
}
