/**
 * backup_dir read through the folder contract: the local backup folder is
 * `<backup_dir>/<database>/<id>.sqlite.zst` (`.age` appended when encrypted)
 * plus `<id>.json`, opened as a local folder (local-folder.ts) and listed by
 * the routine every folder shares (list.ts).
 */
import { removeQuietly } from "../system/index.ts";
import { type FreeOptions, type FreeResult, freeStalePieces } from "./free.ts";
import { type BackupListing, listBackups } from "./list.ts";
import { STALE_PARTIAL_AGE_MS } from "./listing.ts";
import { openLocalFolder } from "./local-folder.ts";
import { appendOpLog } from "./oplog.ts";

/** Lists one database's folder in backup_dir: `listBackups` on backup_dir opened as a local folder. */
export function listFolder(backupDir: string, database: string, now?: Date): Promise<BackupListing> {
  return listBackups(openLocalFolder(backupDir), database, now);
}

/**
 * Frees the stale unreferenced pieces of one database's folder in backup_dir
 * (free.ts), logging each to `logFile` (when given) before removing it, as
 * `{"op": "free", "by": <command>, "file", "stored_size"}`. The caller holds the lock.
 */
export function freeLocalPieces(
  backupDir: string,
  database: string,
  opts: Omit<FreeOptions, "beforeRemove"> & { logFile?: string; by: string; onLogWarning?: (w: string) => void },
): Promise<FreeResult> {
  const { logFile, by, onLogWarning, ...rest } = opts;
  return freeStalePieces(openLocalFolder(backupDir), database, {
    ...rest,
    beforeRemove: (p) => {
      if (!logFile) return;
      const warning = appendOpLog(logFile, { op: "free", by, database, ok: true, file: p.name, stored_size: p.size });
      if (warning) onLogWarning?.(warning);
    },
  });
}

function removeStale(listing: BackupListing, nowMs: number): string[] {
  const removed: string[] = [];
  for (const p of listing.partials) {
    if (nowMs - p.mtimeMs < STALE_PARTIAL_AGE_MS) continue;
    removeQuietly(p.path);
    removed.push(p.path);
  }
  return removed;
}

/**
 * Deletes partial files older than STALE_PARTIAL_AGE_MS, then frees the stale
 * unreferenced pieces (freeLocalPieces, logged to `logFile` when given); returns
 * the paths of both, and the folder's listing. `backup` calls it under the lock
 * before writing (one listing serves both: removing partials changes no
 * reference). A piece that cannot be removed is left, like a partial, for a
 * later run. The listing's backups (and missing-data ones) stay true for the
 * rest of the backup under the same lock: what was removed is no backup and
 * no listed backup references it, so the backup reads it instead of listing
 * the folder again (its `partials` and `pieces` are stale).
 */
export async function removeStalePartials(
  backupDir: string,
  database: string,
  nowMs: number,
  logFile?: string,
): Promise<{ removed: string[]; listing: BackupListing }> {
  const now = new Date(nowMs);
  const listing = await listFolder(backupDir, database, now);
  const removed = removeStale(listing, nowMs);
  const pieces = await freeLocalPieces(backupDir, database, { now, logFile, by: "backup", listing });
  return { removed: [...removed, ...pieces.freed.map((p) => p.path)], listing };
}

/** Deletes partial files older than STALE_PARTIAL_AGE_MS only (rotate frees pieces after its removals); their paths. */
export async function removeStalePartialFiles(backupDir: string, database: string, nowMs: number): Promise<string[]> {
  return removeStale(await listFolder(backupDir, database, new Date(nowMs)), nowMs);
}
