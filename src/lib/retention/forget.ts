/**
 * `forget ID…`: removing chosen backups by id, by the same steps as rotate
 * (rotate.ts): under each database's lock, every id is found and checked
 * before anything is removed (an unknown id, or the last good backup without
 * `force`, refuses the whole command and removes nothing); then each backup
 * is logged (`{"op": "forget", "id"}`, which the next sync follows at every
 * destination) and removed manifest first, data second, its tags marker
 * last; then the pieces no remaining manifest names are freed when stale, by
 * the routine rotate uses (store/free.ts).
 * A good backup has its data present and its latest verification not failed
 * (nor a pack it names failed).
 */
import type { ResolvedConfig } from "../config/index.ts";
import { fsErrorMessage, latestVerification, packFailuresOf, UsageError } from "../model/index.ts";
import {
  appendOpLog,
  type Backend,
  databaseFolder,
  databaseOfId,
  findListed,
  type ListedBackup,
  listBackups,
  listFolder,
  openLocalFolder,
  withoutKeys,
} from "../store/index.ts";
import { acquireLock, type LockOwner } from "../system/index.ts";
import { freePieces, planDryFreeing } from "./free-pieces.ts";
import { removeBackup } from "./remove-backup.ts";
import type { FreeingReport, PieceSummary } from "./rotate-result.ts";

export interface ForgetOptions {
  dryRun: boolean;
  force: boolean;
  now?: () => Date;
  onLockWait?: (database: string, owner: LockOwner | null) => void;
}

/** One database's part of a forget; its JSON form is forget's documented `--json` entry. */
export interface ForgetResult extends FreeingReport {
  dry_run: boolean;
  /** Removed (dry run: would be removed), with what each stored. */
  removed: { id: string; created_at: string; stored_size: number }[];
  /** Backups of this database left (dry run: that would be left). */
  remaining: number;
  freed: PieceSummary[];
  /**
   * Packs and indexes that no remaining manifest names but that are under an hour old (by their
   * names), so not freed yet: a later backup or rotate frees them.
   */
  pieces_waiting: PieceSummary[];
}

/** The unreferenced pieces too young to free, in a listing of the folder as it is (or will be) after the removals. */
async function waiting(folder: Backend, database: string, now: Date): Promise<PieceSummary[]> {
  const l = await listBackups(folder, database, now);
  return l.pieces.unreferenced.filter((p) => !p.stale).map((p) => ({ name: p.name, size: p.size }));
}

/** Ids grouped by database, in the order given, each once; a usage error for one that is no backup id. */
function byDatabase(ids: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const id of ids) {
    const db = databaseOfId(id);
    const list = out.get(db) ?? [];
    if (!list.includes(id)) list.push(id);
    out.set(db, list);
  }
  return out;
}

async function checked(config: ResolvedConfig, database: string, ids: string[], force: boolean) {
  const listing = await listFolder(config.backupDir, database);
  const all = [...listing.backups, ...listing.missingData];
  const doomed = ids.map((id) => findListed(all, id));
  const packFailures = packFailuresOf(all.map((b) => b.manifest));
  const good = (b: ListedBackup) =>
    listing.backups.includes(b) && latestVerification(b.manifest)?.ok !== false && !packFailures.has(b.manifest.id);
  const goodLeft = listing.backups.filter((b) => good(b) && !ids.includes(b.manifest.id));
  const lastGood = doomed.filter(good);
  if (!force && lastGood.length > 0 && goodLeft.length === 0) {
    throw new UsageError(
      `refusing to forget ${lastGood.map((b) => b.manifest.id).join(", ")}: the last good backup of ${database}`,
      "pass --force to forget it anyway (nothing was removed)",
    );
  }
  return { listing, doomed };
}

/**
 * Forgets `ids` (a dry run: checks and plans only, takes no lock, writes
 * nothing). Throws a usage error (exit 2) before removing anything for an id
 * that is not a backup here or the last good backup without `force`.
 */
export async function forgetBackups(
  config: ResolvedConfig,
  ids: string[],
  opts: ForgetOptions,
): Promise<ForgetResult[]> {
  const groups = byDatabase(ids);
  // Every database checked first: a refusal for one removes nothing anywhere.
  for (const [database, list] of groups) await checked(config, database, list, opts.force);
  const results: ForgetResult[] = [];
  for (const [database, list] of groups) {
    const now = opts.now?.() ?? new Date();
    const r: ForgetResult = {
      database,
      dry_run: opts.dryRun,
      removed: [],
      remaining: 0,
      freed: [],
      freed_bytes: 0,
      pieces_held: [],
      pieces_waiting: [],
      warnings: [],
    };
    const summary = (b: ListedBackup) => ({
      id: b.manifest.id,
      created_at: b.manifest.created_at,
      stored_size: b.manifest.stored.size,
    });
    if (opts.dryRun) {
      const { listing, doomed } = await checked(config, database, list, opts.force);
      r.removed = doomed.map(summary);
      r.remaining = listing.backups.length + listing.missingData.length - doomed.length;
      await planDryFreeing(config, listing, doomed, now, r);
      const hidden = new Set(doomed.flatMap((b) => [b.manifestKey, b.dataKey]));
      r.pieces_waiting = await waiting(withoutKeys(openLocalFolder(config.backupDir), hidden), database, now);
      results.push(r);
      continue;
    }
    const folder = databaseFolder(config.backupDir, database);
    const lock = await acquireLock(folder, { database, command: "forget" }, config.lockTimeoutMs, (o) =>
      opts.onLockWait?.(database, o),
    );
    try {
      // Again under the lock: what a run in between changed is what counts.
      const { listing, doomed } = await checked(config, database, list, opts.force);
      const failures: string[] = [];
      for (const b of doomed) {
        const warning = appendOpLog(config.logFile, { op: "forget", database, ok: true, id: b.manifest.id });
        if (warning && !r.warnings.includes(warning)) r.warnings.push(warning);
        try {
          removeBackup(b, folder);
          r.removed.push(summary(b));
        } catch (err) {
          failures.push(fsErrorMessage(err, "remove backup", b.manifestPath));
        }
      }
      r.remaining = listing.backups.length + listing.missingData.length - r.removed.length;
      failures.push(...(await freePieces(config, listing, now, r, "forget")));
      r.pieces_waiting = await waiting(openLocalFolder(config.backupDir), database, now);
      if (failures.length) throw new Error(failures.join("; "));
    } finally {
      lock.release();
    }
    results.push(r);
  }
  return results;
}
