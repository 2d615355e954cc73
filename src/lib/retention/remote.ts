/**
 * Retention at the destinations, after the local rotation of a database. The
 * plan is planRetention over the union of the local and the remote backups
 * (same policy, same time zone), so a backup gets the same keep/remove
 * decision everywhere. One more safety net than locally: a remote copy is only
 * removed when sqlbak itself removed or is removing the local copy (it was in
 * backup_dir at this rotation, or an earlier rotation logged its removal). A
 * copy whose local backup vanished any other way — a lost disk, a fresh
 * machine — may be the only copy left anywhere, and is kept.
 * Each removal deletes the manifest first, then the data (as locally). Then
 * the pieces of pages backups no remaining manifest there names are freed in
 * two phases, marked first and removed by a later run (remote-free.ts).
 */
import type { ResolvedConfig, RetentionPolicy } from "../config/index.ts";
import { describeFailure, openBackend } from "../destinations/index.ts";
import {
  appendOpLog,
  type Backend,
  type ListingCache,
  listBackups,
  openListingCache,
  readOpLog,
} from "../store/index.ts";
import { type PlanOptions, planRetention, type RetentionInput } from "./policy.ts";
import { describePolicy, KEEP_TAG } from "./policy-rules.ts";
import { freeAtDestination, type RemoteFreeing } from "./remote-free.ts";

export interface RemoteRotation extends RemoteFreeing {
  destination: string;
  ok: boolean;
  /** The destination's own policy (its `retention` merged over the database's), when it has one. */
  policy?: string;
  /** Remote backups after this rotation would keep (dry run) or keeps. */
  kept: number;
  /** Removed (dry run: would be removed). */
  removed: string[];
  /** Doomed by the policy but kept: sqlbak never removed them locally, so they may be the only copy. */
  kept_only_copy: string[];
  error?: string;
}

/** Ids this database's earlier rotations removed (or were removing) locally, from the operation log. */
function rotatedAwayLocally(logFile: string, database: string): Set<string> {
  const ids = new Set<string>();
  for (const e of readOpLog(logFile)) {
    if (e.database !== database) continue;
    if (e.op === "rotate" && e.destination === undefined && Array.isArray(e.removed))
      for (const id of e.removed) ids.add(String(id));
    // Written before each local removal, so a rotation killed midway still counts.
    else if (e.op === "rotate-remove" && typeof e.id === "string") ids.add(e.id);
  }
  return ids;
}

async function rotateOne(
  backend: Backend,
  database: string,
  local: RetentionInput[],
  policy: RetentionPolicy,
  opts: { dryRun: boolean; now: Date; timeZone: string; rotatedAway: Set<string>; protect?: PlanOptions["protect"] },
  r: RemoteRotation,
  cache: ListingCache,
) {
  const remote = await listBackups(backend, database, opts.now, { cache });
  const union = new Map<string, RetentionInput>(local.map((b) => [b.id, b]));
  // A backup that failed verification here is the same bytes there: it never fills a slot at the destination either,
  // so it cannot doom a good copy. A local file that is merely gone says nothing about the copy, which has its data.
  for (const b of remote.backups) {
    const here = union.get(b.manifest.id);
    const failedHere = here?.bad === "failed verification";
    union.set(b.manifest.id, {
      id: b.manifest.id,
      created_at: b.manifest.created_at,
      kind: b.manifest.kind,
      // A pin here holds there too, before the next sync has copied its marker (store/marks.ts).
      tags: [...new Set([...b.manifest.tags, ...(here?.tags.includes(KEEP_TAG) ? [KEEP_TAG] : [])])],
      ...(failedHere ? { bad: "failed verification" as const } : {}),
    });
  }
  const doomed = new Set(
    planRetention([...union.values()], policy, { timeZone: opts.timeZone, now: opts.now, protect: opts.protect })
      .remove,
  );
  const localIds = new Set(local.map((b) => b.id));
  const doomedKeys = new Set<string>();
  for (const b of remote.backups) {
    const id = b.manifest.id;
    if (!doomed.has(id)) r.kept++;
    else if (!localIds.has(id) && !opts.rotatedAway.has(id)) {
      r.kept_only_copy.push(id);
      r.kept++;
    } else {
      if (!opts.dryRun) {
        cache.forget(b.manifestKey.slice(database.length + 1));
        await backend.remove(b.manifestKey);
        await backend.remove(b.dataKey);
        if (b.mark) await backend.remove(b.mark.key);
      }
      doomedKeys.add(b.manifestKey).add(b.dataKey);
      r.removed.push(id);
    }
  }
  Object.assign(r, await freeAtDestination(backend, database, remote, { ...opts, doomed: doomedKeys, cache }));
}

/**
 * Applies the plan for `database` at every destination. `local` is every
 * backup the local rotation saw (kept or removed). Never throws: one result
 * per destination; failures are for a warning, never an exit code.
 */
export async function rotateAtDestinations(
  config: ResolvedConfig,
  database: string,
  policy: RetentionPolicy,
  local: RetentionInput[],
  /** protect: what the local plan kept beyond the policy (the backup from before a shrink), kept here too. */
  opts: { dryRun: boolean; now: Date; protect?: PlanOptions["protect"] },
): Promise<RemoteRotation[]> {
  const out: RemoteRotation[] = [];
  const rotatedAway = rotatedAwayLocally(config.logFile, database);
  const own = config.databases.find((d) => d.name === database)?.destinationRetention ?? config.destinationRetention;
  for (const dest of config.destinations) {
    // A destination's own retention (merged over the database's policy) decides there; the only-copy rule still holds.
    const destPolicy = own[dest.name] ?? policy;
    const r: RemoteRotation = {
      destination: dest.name,
      ok: false,
      kept: 0,
      removed: [],
      kept_only_copy: [],
      ...(own[dest.name] ? { policy: describePolicy(destPolicy) } : {}),
      freed: [],
      freed_bytes: 0,
      marked: [],
      pieces_held: [],
    };
    let backend: Backend | null = null;
    try {
      backend = await openBackend(dest);
      const cache = openListingCache(config.backupDir, dest.name, backend.describe, database);
      try {
        const o = { ...opts, timeZone: config.timeZone, rotatedAway };
        await rotateOne(backend, database, local, destPolicy, o, r, cache);
      } finally {
        cache.save();
      }
      r.ok = true;
    } catch (err) {
      r.error = describeFailure(err);
    } finally {
      await backend?.close().catch(() => undefined);
    }
    if (!opts.dryRun) {
      appendOpLog(config.logFile, {
        op: "rotate",
        destination: dest.name,
        database,
        ok: r.ok,
        removed: r.removed,
        kept_only_copy: r.kept_only_copy,
        ...(r.freed.length ? { freed: r.freed, freed_bytes: r.freed_bytes } : {}),
        ...(r.marked.length ? { marked: r.marked } : {}),
        error: r.error,
      });
    }
    out.push(r);
  }
  return out;
}
