/**
 * Which way each database's backups are stored, as its config says:
 * `incremental = true` writes a pages backup (pages.ts) keyed with the
 * folder's id key, anything else today's self-contained file (run.ts).
 */
import { availableParallelism } from "node:os";
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
 * A bound on `backup --parallel`: beyond this many databases at once, the disk
 * and the reader workers (one each) compete more than they overlap.
 */
export const MAX_PARALLEL = 8;

/** `--parallel`'s default: one database per CPU, at most MAX_PARALLEL. */
export function defaultParallel(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_PARALLEL));
}

/**
 * Backs up the databases, at most `opts.parallel` at once (default 1: in
 * turn); each under its own folder's lock, one failing never stops the others.
 * Results come in the order given. `around` wraps each database's backup (its
 * pings, ./ping.ts).
 */
export async function runBackups(
  config: ResolvedConfig,
  dbs: ResolvedDatabase[],
  opts: BackupOptions & { parallel?: number },
  around?: (db: ResolvedDatabase, run: () => Promise<BackupResult>) => Promise<BackupResult>,
): Promise<BackupResult[]> {
  const results: BackupResult[] = new Array(dbs.length);
  let next = 0;
  const worker = async () => {
    while (next < dbs.length) {
      const i = next++;
      const db = dbs[i]!;
      const run = () => backupAsConfigured(config, db, opts);
      results[i] = await (around ? around(db, run) : run());
    }
  };
  const lanes = Math.max(1, Math.min(opts.parallel ?? 1, dbs.length));
  await Promise.all(Array.from({ length: lanes }, worker));
  return results;
}
