/**
 * Databases with no entry of their own: a backup folder whose database a
 * `glob`/`folder` entry found before and no longer finds (the file vanished)
 * keeps that entry's retention, found from the source path its backups record.
 */
import { belongsTo, type ResolvedConfig, type RetentionPolicy } from "../config/index.ts";
import { databasesOnDisk, listFolder } from "../store/index.ts";

/**
 * Given a database name, return the retention that applies to its folder: its
 * entry's; else, when the newest backup whose manifest names its source lies
 * under a discovering entry that names it so, that entry's; else the global one.
 * A manifest that seals its source (encryption, no key at hand) tells nothing.
 */
export async function policyOf(config: ResolvedConfig, name: string): Promise<RetentionPolicy> {
  const own = config.databases.find((d) => d.name === name);
  if (own) return own.retention ?? config.retention;
  return (await discoveredBy(config, name))?.entry.retention ?? config.retention;
}

/** The discovering entry a folder with no database of its own came from, and its last source; null if none. */
async function discoveredBy(config: ResolvedConfig, name: string) {
  if (!config.discovery?.length) return null;
  const listing = await listFolder(config.backupDir, name);
  const source = listing.backups.findLast((b) => b.manifest.source)?.manifest.source;
  const index = source ? config.discovery.findIndex((d) => belongsTo(d.source, d.baseDir, name, source)) : -1;
  return index < 0 ? null : { entry: config.discovery[index]!, source: source! };
}

export interface VanishedDatabase {
  database: string;
  /** The file its newest backup came from, which its entry no longer finds. */
  source: string;
  /** The entry's `glob` or `folder` as written. */
  pattern: string;
}

/**
 * Backup folders whose database a `glob`/`folder` entry found before and no
 * longer does, sorted by name: their backups stay, and rotate by the entry's policy.
 */
export async function findVanished(config: ResolvedConfig): Promise<VanishedDatabase[]> {
  if (!config.discovery?.length) return [];
  const configured = new Set(config.databases.map((d) => d.name));
  const out: VanishedDatabase[] = [];
  for (const name of databasesOnDisk(config.backupDir).sort()) {
    if (configured.has(name)) continue;
    const found = await discoveredBy(config, name);
    if (found) {
      const pattern = found.entry.source.glob ?? found.entry.source.folder!;
      out.push({ database: name, source: found.source, pattern });
    }
  }
  return out;
}
