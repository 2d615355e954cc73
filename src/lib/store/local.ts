/**
 * backup_dir read through the folder contract: the local backup folder is
 * `<backup_dir>/<database>/<id>.sqlite.zst` (`.age` appended when encrypted)
 * plus `<id>.json`, opened as a local folder (local-folder.ts) and listed by
 * the routine every folder shares (list.ts).
 */
import { removeQuietly } from "../system/index.ts";
import { type BackupListing, listBackups } from "./list.ts";
import { STALE_PARTIAL_AGE_MS } from "./listing.ts";
import { openLocalFolder } from "./local-folder.ts";

/** Lists one database's folder in backup_dir: `listBackups` on backup_dir opened as a local folder. */
export function listFolder(backupDir: string, database: string): Promise<BackupListing> {
  return listBackups(openLocalFolder(backupDir), database);
}

/** Deletes partial files older than STALE_PARTIAL_AGE_MS; returns their paths. */
export async function removeStalePartials(backupDir: string, database: string, nowMs: number): Promise<string[]> {
  const removed: string[] = [];
  for (const p of (await listFolder(backupDir, database)).partials) {
    if (nowMs - p.mtimeMs < STALE_PARTIAL_AGE_MS) continue;
    removeQuietly(p.path);
    removed.push(p.path);
  }
  return removed;
}
