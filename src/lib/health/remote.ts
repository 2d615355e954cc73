/**
 * `stats` per destination and database: how many copies, how big, the newest,
 * how far it lags behind the newest local backup, how many local backups are
 * not copied yet, and the last copy attempt from the op log.
 */
import type { ResolvedConfig } from "../config/index.ts";
import { listsWhole, tryOpenBackend } from "../destinations/index.ts";
import { describeError, storedBytesOf } from "../model/index.ts";
import {
  type FolderListing,
  type ListingProblem,
  type LoggedEntry,
  listBackups,
  listByDatabase,
  openListingCache,
  readOpLog,
} from "../store/index.ts";

/** A backup named in a report: its id, when it was taken, and how long ago. */
export interface BackupRef {
  id: string;
  created_at: string;
  age_ms: number;
}

export interface DestinationStats {
  destination: string;
  location: string | null;
  database: string;
  /** False when the destination could not be listed (error says why). */
  ok: boolean;
  error?: string;
  count: number;
  stored_bytes: number;
  newest: BackupRef | null;
  /** Local backups the destination does not have (yet). */
  missing: number;
  /** Newest local backup's time minus the newest copy's (0: up to date); null when either side has none. */
  lag_ms: number | null;
  /** Leftovers of interrupted uploads (data without a manifest). */
  partials: number;
  /** Backups there whose manifest cannot be read (kept, never a partial): a health problem. */
  problems: ListingProblem[];
  last_copy: { ts: string; ok: boolean; error?: string } | null;
}

function lastCopy(log: LoggedEntry[], destination: string, database: string): DestinationStats["last_copy"] {
  const e = log.findLast((x) => x.op === "copy" && x.destination === destination && x.database === database);
  return e ? { ts: e.ts, ok: e.ok, error: e.error } : null;
}

/** Lists every destination for each local listing; never throws (an unreachable destination is a result). */
export async function gatherDestinationStats(
  config: ResolvedConfig,
  listings: FolderListing[],
  now = new Date(),
): Promise<DestinationStats[]> {
  const log = readOpLog(config.logFile);
  const out: DestinationStats[] = [];
  for (const dest of config.destinations) {
    const opened = await tryOpenBackend(dest);
    const backend = opened instanceof Error ? null : opened;
    // As a sync does: many databases, one listing of the destination (each lists alone if it fails).
    const whole = backend && listsWhole(dest, listings.length) ? await listByDatabase(backend).catch(() => null) : null;
    for (const l of listings) {
      const s: DestinationStats = {
        destination: dest.name,
        location: backend?.describe ?? null,
        database: l.database,
        ok: false,
        count: 0,
        stored_bytes: 0,
        newest: null,
        missing: 0,
        lag_ms: null,
        partials: 0,
        problems: [],
        last_copy: lastCopy(log, dest.name, l.database),
      };
      try {
        if (opened instanceof Error) throw opened;
        const cache = openListingCache(config.backupDir, dest.name, opened.describe, l.database);
        const files = whole ? (whole.get(l.database) ?? []) : undefined;
        const remote = await listBackups(opened, l.database, now, { cache, files }).finally(() => cache.save());
        const ids = new Set(remote.backups.map((b) => b.manifest.id));
        const newest = remote.backups.at(-1)?.manifest;
        const newestLocal = l.backups.at(-1)?.manifest;
        Object.assign(s, {
          ok: true,
          count: remote.backups.length,
          stored_bytes: storedBytesOf(remote.backups.map((b) => b.manifest)),
          newest: newest
            ? { id: newest.id, created_at: newest.created_at, age_ms: now.getTime() - Date.parse(newest.created_at) }
            : null,
          missing: l.backups.filter((b) => !ids.has(b.manifest.id)).length,
          lag_ms:
            newest && newestLocal
              ? Math.max(0, Date.parse(newestLocal.created_at) - Date.parse(newest.created_at))
              : null,
          partials: remote.partials.length,
          problems: remote.problems,
        });
      } catch (err) {
        s.error = describeError(err);
      }
      out.push(s);
    }
    await backend?.close().catch(() => undefined);
  }
  return out;
}
