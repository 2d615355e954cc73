/**
 * The `--from NAME` side of list, verify and restore: listings of a
 * destination shaped like local ones (so selection, tables and JSON are
 * shared), and fetching a chosen backup into a private staging folder under
 * backup_dir, where verify and restore treat it exactly like a local backup.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig } from "../config.ts";
import { type DecryptionKeys, NO_KEYS, WrongKeyError } from "../encryption.ts";
import { describeError, OperationError, UsageError } from "../errors.ts";
import { ensureDir } from "../fs.ts";
import type { FolderListing, StoredBackup } from "../store.ts";
import { verifyBackup, type VerifyLevel } from "../verify.ts";
import { attemptVerify, logVerification, probesFor, type VerifyResult } from "../verify-run.ts";
import type { Backend } from "./backend.ts";
import type { ResolvedDestination } from "./config.ts";
import { STAGING_PREFIX, sweepStaleStaging } from "./staging.ts";
import { fetchBackup, listRemote, type RemoteBackup, remoteDatabases } from "./remote-store.ts";

export { STAGING_PREFIX } from "./staging.ts";

export interface RemoteFolderListing extends FolderListing {
  backups: RemoteBackup[];
}

/**
 * Listings of every database at the destination, or of the one named (a
 * UsageError when the destination has nothing for it).
 */
export async function listFrom(backend: Backend, dest: ResolvedDestination, database?: string): Promise<RemoteFolderListing[]> {
  const names = await remoteDatabases(backend);
  if (database !== undefined && !names.includes(database)) {
    throw new UsageError(`destination ${dest.name} (${backend.describe}) has no backups of "${database}"`, names.length ? `it has: ${names.join(", ")}` : "it is empty");
  }
  const out: RemoteFolderListing[] = [];
  for (const name of database ? [database] : names) {
    const r = await listRemote(backend, name);
    out.push({
      database: name,
      folder: `${backend.describe}/${name}`,
      backups: r.backups,
      partials: r.partials.map((p) => ({ path: `${backend.describe}/${p.key}`, size: p.size, mtimeMs: 0 })),
      problems: r.problems,
    });
  }
  return out;
}

/**
 * Downloads `b` into a fresh staging folder under backup_dir (the same volume
 * restore writes beside, never a small /tmp), runs `fn` on the local copy, and
 * removes the folder whatever happens.
 */
export async function withFetched<T>(config: ResolvedConfig, backend: Backend, b: RemoteBackup, fn: (local: StoredBackup) => Promise<T>): Promise<T> {
  ensureDir(config.backupDir);
  // Leftovers of a killed restore/verify --from (a day old: no download still runs) would otherwise fill the disk.
  sweepStaleStaging(config.backupDir, Date.now());
  const staging = mkdtempSync(join(config.backupDir, STAGING_PREFIX));
  try {
    return await fn(await fetchBackup(backend, b, staging));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * `verify --from`: downloads each backup and runs the same checks as a local
 * verify. The outcome goes to the op log (with the destination); remote
 * manifests are never rewritten, so a destination only ever receives whole backups.
 */
export async function runVerifyFrom(config: ResolvedConfig, backend: Backend, dest: ResolvedDestination, backups: RemoteBackup[], level: VerifyLevel, keys: DecryptionKeys = NO_KEYS): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const b of backups) {
    const probes = probesFor(config, b.manifest.database);
    const result = await attemptVerify(
      b,
      level,
      () => withFetched(config, backend, b, (local) => verifyBackup(local, level, probes, keys)),
      // A wrong key or a full local disk says nothing about the copy; neither does a failed download.
      (err) => (err instanceof WrongKeyError || err instanceof OperationError ? err.message : `cannot download from ${dest.name}: ${describeError(err)}`),
    );
    const logError = logVerification(config, result, dest.name);
    if (logError) result.warning = logError;
    results.push(result);
  }
  return results;
}
