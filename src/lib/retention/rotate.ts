/**
 * Applying retention to one database's folder: under the database's lock,
 * clean stale partials, plan with planRetention, then remove each doomed backup
 * (logged first, see logRemoval) manifest first (the folder fsynced), data file second. A crash in between
 * leaves a data file without a manifest: a partial, never listed, and removed
 * by the next backup or rotate once older than STALE_PARTIAL_AGE_MS.
 * Then, still under the lock, the folder is listed again and the pieces of
 * pages backups that no remaining manifest names are freed when stale
 * (store/free.ts): a crash before or during that leaves unreferenced pieces
 * only, which the next rotate or backup frees by the same rule.
 */
import { existsSync } from "node:fs";
import type { ResolvedConfig, RetentionPolicy } from "../config/index.ts";
import { describeError, EXIT, fsErrorMessage, SqlbakError } from "../model/index.ts";
import { sendNotifications } from "../notify/index.ts";
import { databaseFolder, removeStalePartialFiles, STALE_PARTIAL_AGE_MS, sweepStaleStaging } from "../store/index.ts";
import { acquireLock, pausePoint } from "../system/index.ts";
import { freePieces, planDryFreeing } from "./free-pieces.ts";
import { rotateNotification } from "./notification.ts";
import { describePolicy } from "./policy-rules.ts";
import { rotateAtDestinations } from "./remote.ts";
import { removeBackup } from "./remove-backup.ts";
import { planKeptCopies, removeKeptCopies } from "./rotate-kept.ts";
import { logRemoval, logRotation } from "./rotate-log.ts";
import { BEFORE_SHRINK_REASON, planRotation } from "./rotate-plan.ts";
import type { RotateOptions, RotateResult } from "./rotate-result.ts";
import { policyOf } from "./vanished.ts";

/**
 * Rotates one database's backups with `policy` (dry run: plans only, takes no
 * lock, writes nothing). Never throws for a failure of the rotation itself:
 * the result carries ok, the error and the exit code (1 failed, 4 locked).
 */
export async function rotateDatabase(
  config: ResolvedConfig,
  database: string,
  policy: RetentionPolicy,
  opts: RotateOptions,
): Promise<RotateResult> {
  const now = opts.now?.() ?? new Date();
  const result: RotateResult = {
    database,
    ok: false,
    dry_run: opts.dryRun,
    policy: describePolicy(policy),
    time_zone: config.timeZone,
    empty_policy: false,
    backups: [],
    removed: [],
    pre_restore_files: [],
    removed_pre_restore_files: [],
    removed_partials: [],
    skipped: [],
    freed: [],
    freed_bytes: 0,
    pieces_held: [],
    warnings: [],
    exitCode: EXIT.ok,
  };
  const folder = databaseFolder(config.backupDir, database);
  try {
    if (opts.dryRun || !existsSync(folder)) {
      const { candidates, listing, remove } = await planRotation(config, database, policy, now, result, opts.protect);
      // No folder means no lock and no restore ever took one here: a kept copy there is only planned.
      result.pre_restore_files = planKeptCopies(config, database, policy);
      result.removed_partials = listing.partials
        .filter((p) => now.getTime() - p.mtimeMs >= STALE_PARTIAL_AGE_MS)
        .map((p) => p.path);
      await planDryFreeing(
        config,
        listing,
        candidates.filter((b) => remove.has(b.manifest.id)),
        now,
        result,
      );
    } else {
      const lock = await acquireLock(folder, { database, command: "rotate" }, config.lockTimeoutMs, (o) =>
        opts.onLockWait?.(database, o),
      );
      try {
        result.removed_partials = await removeStalePartialFiles(config.backupDir, database, now.getTime());
        const { candidates, listing, remove } = await planRotation(config, database, policy, now, result, opts.protect);
        const failures: string[] = [];
        for (const b of candidates.filter((x) => remove.has(x.manifest.id))) {
          logRemoval(config, database, b.manifest.id, result);
          try {
            removeBackup(b, folder);
            result.removed.push(b.manifest.id);
            pausePoint("rotate:backup-removed");
          } catch (err) {
            failures.push(fsErrorMessage(err, "remove backup", b.manifestPath));
          }
        }
        // Under the same lock restore takes: no restore is keeping a copy meanwhile.
        result.pre_restore_files = planKeptCopies(config, database, policy);
        failures.push(
          ...removeKeptCopies(
            config,
            database,
            result.pre_restore_files,
            result.removed_pre_restore_files,
            result.warnings,
          ),
        );
        failures.push(...(await freePieces(config, listing, now, result)));
        if (failures.length) throw new Error(failures.join("; "));
      } finally {
        lock.release();
      }
    }
    result.ok = true;
  } catch (err) {
    result.exitCode = err instanceof SqlbakError ? err.exitCode : EXIT.failed;
    result.error = err instanceof SqlbakError && err.hint ? `${err.message} (${err.hint})` : describeError(err);
  }
  if (!opts.dryRun) logRotation(config, result);
  return result;
}

/** Rotates each database in turn with its own policy; one failing does not stop the others. */
export async function runRotations(
  config: ResolvedConfig,
  databases: string[],
  opts: RotateOptions,
): Promise<RotateResult[]> {
  const results: RotateResult[] = [];
  if (!opts.dryRun) sweepStaleStaging(config.backupDir, (opts.now?.() ?? new Date()).getTime());
  for (const name of databases) {
    const policy = await policyOf(config, name);
    const r = await rotateDatabase(config, name, policy, opts);
    // Only after a local rotation that worked: its decisions (and removals) are what the destinations follow.
    if (r.ok && config.destinations.length > 0) {
      // The decisions carry `bad`: a backup bad here and absent there never fills a slot at the destination. A remote
      // copy replaces the local entry in that plan (its bytes may be fine), so it is judged by the rules alone.
      const beforeShrink = r.backups
        .filter((b) => b.reasons.includes(BEFORE_SHRINK_REASON))
        .map((b) => ({ id: b.id, reason: BEFORE_SHRINK_REASON }));
      r.destinations = await rotateAtDestinations(config, name, policy, r.backups, {
        dryRun: opts.dryRun,
        now: opts.now?.() ?? new Date(),
        protect: beforeShrink,
      });
    }
    results.push(r);
  }
  // A delivery that failed is a warning of that rotation (said with its others); it never fails it.
  for (const r of results) {
    const n = rotateNotification(r);
    if (n) r.warnings.push(...(await sendNotifications(config, [n])));
  }
  return results;
}

/**
 * The one error line for a single rotation that failed, else undefined: said once, by the
 * caller's error, not per database.
 */
export function loneRotationFailure(results: RotateResult[]): string | undefined {
  const only = results.length === 1 && !results[0]!.ok ? results[0]! : undefined;
  return only ? `${only.database}: rotation failed: ${only.error}` : undefined;
}
