/**
 * Which way each database's backups are stored, as its config says:
 * `incremental = true` writes a pages backup (pages.ts) keyed with the
 * folder's id key, anything else today's self-contained file (run.ts).
 */
import { NO_KEYS } from "../codec/index.ts";
import type { ResolvedConfig, ResolvedDatabase } from "../config/index.ts";
import { fetchIdKeyCopies } from "../destinations/index.ts";
import { loadOrCreateIdKey } from "../pages/index.ts";
import { databaseFolder } from "../store/index.ts";
import { writePagesBackup } from "./pages.ts";
import { type BackupContext, type BackupOptions, type BackupResult, backupDatabase } from "./run.ts";

/**
 * The folder's id key, loaded (or made) under the folder's lock: copies that
 * could not be adopted become warnings of the backup's result, since the
 * backup then dedups against nothing stored before.
 */
async function idKeyFor(ctx: BackupContext): Promise<Uint8Array> {
  const { config, db, sealer, result } = ctx;
  const keys = {
    ...NO_KEYS,
    env: process.env,
    configPassphraseEnv: config.encryption?.type === "passphrase" ? config.encryption.passphraseEnv : null,
  };
  // A folder with no id key (backup_dir restored from a destination) adopts the copies there rather than a new key.
  const got = await fetchIdKeyCopies(config, db.name);
  for (const f of got.fetched) result.notes.push(`${db.name}: fetched the id key copy ${f}`);
  result.warnings.push(...got.warnings);
  const loaded = await loadOrCreateIdKey(databaseFolder(config.backupDir, db.name), sealer, keys);
  for (const s of loaded.skipped) result.warnings.push(`${db.name}: id key copy ${s.name} not used (${s.reason})`);
  if (loaded.created && loaded.skipped.length > 0)
    result.warnings.push(`${db.name}: started a new id key: this backup stores every page again`);
  return loaded.key;
}

/**
 * Backs up one database the way its config says (`incremental`). Like
 * backupDatabase, never throws for a failure of the backup itself.
 */
export function backupAsConfigured(
  config: ResolvedConfig,
  db: ResolvedDatabase,
  opts: BackupOptions,
): Promise<BackupResult> {
  if (!db.incremental) return backupDatabase(config, db, opts);
  return writePagesBackup(config, db, { ...opts, idKey: idKeyFor });
}

/**
 * Backs up each database in turn; one failing does not stop the others.
 * `around` wraps each database's backup (its pings, ./ping.ts).
 */
export async function runBackups(
  config: ResolvedConfig,
  dbs: ResolvedDatabase[],
  opts: BackupOptions,
  around?: (db: ResolvedDatabase, run: () => Promise<BackupResult>) => Promise<BackupResult>,
): Promise<BackupResult[]> {
  const results: BackupResult[] = [];
  for (const db of dbs) {
    const run = () => backupAsConfigured(config, db, opts);
    results.push(await (around ? around(db, run) : run()));
  }
  return results;
}
