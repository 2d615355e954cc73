/**
 * The policy of a database with no entry of its own: a backup folder whose
 * database a `glob`/`folder` entry no longer finds (the file vanished) keeps
 * that entry's retention, found from the source path its backups record.
 */
import { belongsTo, type ResolvedConfig, type RetentionPolicy } from "../config/index.ts";
import { listFolder } from "../store/index.ts";

/**
 * Given a database name, return the retention that applies to its folder: its
 * entry's; else, when the newest backup whose manifest names its source lies
 * under a discovering entry that names it so, that entry's; else the global one.
 * A manifest that seals its source (encryption, no key at hand) tells nothing.
 */
export async function policyOf(config: ResolvedConfig, name: string): Promise<RetentionPolicy> {
  const own = config.databases.find((d) => d.name === name);
  if (own) return own.retention ?? config.retention;
  if (!config.discovery?.length) return config.retention;
  const listing = await listFolder(config.backupDir, name);
  const source = listing.backups.findLast((b) => b.manifest.source)?.manifest.source;
  const entry = source ? config.discovery.find((d) => belongsTo(d.source, d.baseDir, name, source)) : undefined;
  return entry?.retention ?? config.retention;
}
