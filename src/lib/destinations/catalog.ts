/**
 * The `--from NAME` side of list, verify and restore: listings of a
 * destination by the routine that lists backup_dir (so selection, tables and
 * JSON are shared), and fetching a chosen backup into a private staging folder under
 * backup_dir, where verify and restore treat it exactly like a local backup.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig, ResolvedDestination } from "../config/index.ts";
import { type ProgressFn, UsageError } from "../model/index.ts";
import {
  type Backend,
  type BackupListing,
  fetchBackup,
  type ListedBackup,
  listBackups,
  listedDatabases,
  STAGING_PREFIX,
  type StoredBackup,
  sweepStaleStaging,
} from "../store/index.ts";
import { ensureDir } from "../system/index.ts";

export { STAGING_PREFIX } from "../store/index.ts";

/**
 * Listings of every database at the destination, or of the one named (a
 * UsageError when the destination has nothing for it).
 */
export async function listFrom(
  backend: Backend,
  dest: ResolvedDestination,
  database?: string,
): Promise<BackupListing[]> {
  const names = await listedDatabases(backend);
  if (database !== undefined && !names.includes(database)) {
    throw new UsageError(
      `destination ${dest.name} (${backend.describe}) has no backups of "${database}"`,
      names.length ? `it has: ${names.join(", ")}` : "it is empty",
    );
  }
  const out: BackupListing[] = [];
  for (const name of database ? [database] : names) out.push(await listBackups(backend, name));
  return out;
}

/**
 * Downloads `b` into a fresh staging folder under backup_dir (the same volume
 * restore writes beside, never a small /tmp), runs `fn` on the local copy, and
 * removes the folder whatever happens. `onProgress` hears the download as
 * `<database>: downloading <id> from <destination>`.
 */
export async function withFetched<T>(
  config: ResolvedConfig,
  backend: Backend,
  b: ListedBackup,
  fn: (local: StoredBackup) => Promise<T>,
  { onProgress, destination }: { onProgress?: ProgressFn; destination?: string } = {},
): Promise<T> {
  ensureDir(config.backupDir);
  // Leftovers of a killed restore/verify --from (a day old: no download still runs) would otherwise fill the disk.
  sweepStaleStaging(config.backupDir, Date.now());
  const staging = mkdtempSync(join(config.backupDir, STAGING_PREFIX));
  try {
    const label = `${b.manifest.database}: downloading ${b.manifest.id}${destination ? ` from ${destination}` : ""}`;
    const progress = onProgress && ((done: number, total: number) => onProgress(label, done, total));
    return await fn(await fetchBackup(backend, b, staging, progress));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
