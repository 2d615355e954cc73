/** The newest backup of a database that can stand in for a failed one: what a failure alert names as "last good". */
import type { ResolvedConfig } from "../config/index.ts";
import { latestVerification } from "../model/index.ts";
import { listFolder } from "../store/index.ts";

/**
 * The newest scheduled or manual backup of `database` whose latest
 * verification did not fail (other than `exceptId`); null when there is none
 * or the folder cannot be read (an alert is still sent, saying so).
 */
export async function lastGoodBackup(
  config: ResolvedConfig,
  database: string,
  exceptId?: string,
): Promise<{ last_good_id: string; last_good_at: string } | null> {
  try {
    const listing = await listFolder(config.backupDir, database);
    for (let i = listing.backups.length - 1; i >= 0; i--) {
      const m = listing.backups[i]!.manifest;
      if (m.id === exceptId || m.kind === "pre-restore" || latestVerification(m)?.ok === false) continue;
      return { last_good_id: m.id, last_good_at: m.created_at };
    }
  } catch {
    // an unreadable folder: the alert says "none found"
  }
  return null;
}
