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
import { existsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig, RetentionPolicy } from "../config/index.ts";
import {
  beforeShrinkId,
  describeError,
  EXIT,
  type ExitCode,
  fsErrorMessage,
  latestVerification,
  packFailuresOf,
  SqlbakError,
} from "../model/index.ts";
import { sendNotifications } from "../notify/index.ts";
import {
  appendOpLog,
  type BackupListing,
  databaseFolder,
  describeProblem,
  type FreedPiece,
  freeLocalPieces,
  listBackups,
  listFolder,
  openLocalFolder,
  piecesBytes,
  planFreeing,
  removeStalePartialFiles,
  STALE_PARTIAL_AGE_MS,
  type StoredBackup,
  sweepStaleStaging,
  tagsMarkName,
  withoutKeys,
} from "../store/index.ts";
import { acquireLock, fsyncDir, type LockOwner, pausePoint } from "../system/index.ts";
import { rotateNotification } from "./notification.ts";
import { type BadBackup, planRetention, type RetentionDecision, type RetentionInput } from "./policy.ts";
import { describePolicy } from "./policy-rules.ts";
import { type RemoteRotation, rotateAtDestinations } from "./remote.ts";
import { type KeptDecision, planKeptCopies, removeKeptCopies } from "./rotate-kept.ts";
import { policyOf } from "./vanished.ts";

export interface RotateOptions {
  dryRun: boolean;
  now?: () => Date;
  /** Backup ids this rotation must never remove (the ones `backup --rotate` just took). */
  protect?: string[];
  onLockWait?: (database: string, owner: LockOwner | null) => void;
}

/** A pack or pack index, by name, with its stored bytes. */
export interface PieceSummary {
  name: string;
  size: number;
}

/** The result of rotating one database; its JSON form is rotate's documented `--json` entry. */
export interface RotateResult {
  database: string;
  ok: boolean;
  dry_run: boolean;
  policy: string;
  time_zone: string;
  empty_policy: boolean;
  /** Newest first, every backup with keep or remove and its reasons. */
  backups: (RetentionDecision & { action: "keep" | "remove" })[];
  /** Ids actually removed (on --dry-run: none). */
  removed: string[];
  /**
   * The kept copies beside the configured database (restore's pre-restore safety copies, kind
   * `pre-restore-file`), newest first, with keep or remove: the newest `keep_pre_restore` stay.
   */
  pre_restore_files: KeptDecision[];
  /** Paths of kept copies (and their sidecars) actually removed (on --dry-run: none). */
  removed_pre_restore_files: string[];
  /** Stale partial files deleted (on --dry-run: the ones that would be). */
  removed_partials: string[];
  /** Manifests that were skipped as unreadable: never touched by rotation. */
  skipped: string[];
  /**
   * Pieces of pages backups (packs, pack indexes) freed after the removals: named by no remaining
   * manifest and stale (on --dry-run: the ones that would be).
   */
  freed: PieceSummary[];
  /** Stored bytes of `freed`. */
  freed_bytes: number;
  /** Pieces named by no manifest that parses but kept, because a manifest in `skipped` might name them. */
  pieces_held: PieceSummary[];
  error?: string;
  /** Problems that did not fail the rotation (an unwritable op log). */
  warnings: string[];
  /**
   * The same plan applied at each `[[destination]]` (absent without destinations or when the
   * local rotation failed).
   */
  destinations?: RemoteRotation[];
  exitCode: ExitCode;
}

/**
 * Removes one backup so that no crash can leave a manifest without its data:
 * the manifest goes first and that unlink is made durable before the data file
 * is touched. Throws on a failure to remove the manifest (the backup then stays whole).
 */
export function removeBackup(b: StoredBackup, folder: string): void {
  unlinkSync(b.manifestPath);
  fsyncDir(folder);
  pausePoint("rotate:manifest-removed");
  // The tags marker last: without its manifest it is ignored, so a crash before this leaves nothing that matters.
  for (const path of [b.dataPath, join(folder, tagsMarkName(b.manifest.id))]) {
    try {
      unlinkSync(path);
    } catch (err) {
      // Already a partial (data without manifest); the stale-partial sweep finishes it.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}

/** What freeing after removals reports into (rotate's and forget's results). */
export type FreeingReport = Pick<RotateResult, "database" | "warnings" | "freed" | "freed_bytes" | "pieces_held">;

/** Why a protected backup is kept when no rule keeps it: the last one from before an unacknowledged shrink. */
export const BEFORE_SHRINK_REASON = "before shrink";

async function plan(
  config: ResolvedConfig,
  database: string,
  policy: RetentionPolicy,
  now: Date,
  result: RotateResult,
  protect?: string[],
) {
  const listing = await listFolder(config.backupDir, database, now);
  const missing = listing.missingData ?? [];
  const missingIds = new Set(missing.map((b) => b.manifest.id));
  // A backup whose data is gone is a valid manifest: retention decides it (as evidence);
  // unreadable ones stay untouched.
  result.skipped = listing.problems.filter((p) => !missingIds.has(p.id)).map(describeProblem);
  const input = (b: StoredBackup, bad?: BadBackup): RetentionInput => ({
    id: b.manifest.id,
    created_at: b.manifest.created_at,
    kind: b.manifest.kind,
    tags: b.manifest.tags,
    ...(bad ? { bad } : {}),
  });
  const beforeShrink = beforeShrinkId(listing.backups.map((b) => b.manifest));
  // A pack whose newest verification failed makes every backup referencing it bad, whatever its own record says.
  const packFailures = packFailuresOf([...listing.backups, ...missing].map((b) => b.manifest));
  const badOf = (b: StoredBackup): BadBackup | undefined =>
    latestVerification(b.manifest)?.ok === false
      ? "failed verification"
      : packFailures.has(b.manifest.id)
        ? "pack failed verification"
        : undefined;
  const p = planRetention(
    [...listing.backups.map((b) => input(b, badOf(b))), ...missing.map((b) => input(b, "data missing"))],
    policy,
    {
      timeZone: config.timeZone,
      now,
      protect: [...(protect ?? []), ...(beforeShrink ? [{ id: beforeShrink, reason: BEFORE_SHRINK_REASON }] : [])],
    },
  );
  result.empty_policy = p.emptyPolicy;
  result.backups = p.decisions.map((d) => ({ ...d, action: d.keep ? "keep" : "remove" }));
  return { candidates: [...listing.backups, ...missing], listing, remove: new Set(p.remove) };
}

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
      const { candidates, listing, remove } = await plan(config, database, policy, now, result, opts.protect);
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
        const { candidates, listing, remove } = await plan(config, database, policy, now, result, opts.protect);
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

const summary = (p: FreedPiece): PieceSummary => ({ name: p.name, size: p.size });

/**
 * Frees the pieces no remaining manifest names, after the removals and under
 * the same lock (store/free.ts): the folder is listed again, so pieces only the
 * removed backups named are unreferenced now, and freed once the time in their
 * name is the partial age old (a newer one waits for a later run). A backup
 * still writing its packs cannot be running: it would hold this lock. A folder
 * whose listing had no pieces at all gets none by removals: it is not listed
 * again. Returns the failures (one line each).
 */
export async function freePieces(
  config: ResolvedConfig,
  listing: BackupListing,
  now: Date,
  r: FreeingReport,
  by = "rotate",
) {
  const { referenced, unreferenced, protected: held } = listing.pieces;
  if (referenced.length + unreferenced.length + held.length === 0) return [];
  pausePoint("rotate:pieces-freeing");
  const freed = await freeLocalPieces(config.backupDir, r.database, {
    now,
    logFile: config.logFile,
    by,
    afterRemove: () => pausePoint("rotate:piece-freed"),
    onLogWarning: (w) => {
      if (!r.warnings.includes(w)) r.warnings.push(w);
    },
  });
  r.freed = freed.freed.map(summary);
  r.freed_bytes = piecesBytes(freed.freed);
  r.pieces_held = freed.held.map(summary);
  return freed.errors;
}

/** --dry-run: what freePieces would free once the doomed backups are gone (the same listing, without them). */
export async function planDryFreeing(
  config: ResolvedConfig,
  listing: BackupListing,
  doomed: { manifestKey: string; dataKey: string }[],
  now: Date,
  r: FreeingReport,
): Promise<void> {
  const { referenced, unreferenced, protected: held } = listing.pieces;
  if (referenced.length + unreferenced.length + held.length === 0) return;
  const hidden = new Set(doomed.flatMap((b) => [b.manifestKey, b.dataKey]));
  const after = planFreeing(await listBackups(withoutKeys(openLocalFolder(config.backupDir), hidden), r.database, now));
  r.freed = after.free.map(summary);
  r.freed_bytes = piecesBytes(after.free);
  r.pieces_held = after.held.map(summary);
}

/**
 * One op-log line per backup, written before it is removed: a run killed
 * mid-rotation never reaches the summary line, and without a record the
 * destinations would keep that backup's copies forever as a possible only
 * copy. A line that cannot be written (a full disk) is a warning, never a
 * reason to keep the space: the summary line lists the removal again.
 */
function logRemoval(config: ResolvedConfig, database: string, id: string, r: RotateResult): void {
  const warning = appendOpLog(config.logFile, { op: "rotate-remove", database, ok: true, id });
  if (warning && !r.warnings.includes(warning)) r.warnings.push(warning);
}

function logRotation(config: ResolvedConfig, r: RotateResult): void {
  const warning = appendOpLog(config.logFile, {
    op: "rotate",
    database: r.database,
    ok: r.ok,
    kept: r.backups.filter((b) => b.action === "keep").length,
    removed: r.removed,
    removed_partials: r.removed_partials,
    ...(r.removed_pre_restore_files.length ? { removed_pre_restore_files: r.removed_pre_restore_files } : {}),
    ...(r.freed.length ? { freed: r.freed.map((p) => p.name), freed_bytes: r.freed_bytes } : {}),
    empty_policy: r.empty_policy,
    error: r.error,
  });
  if (warning) r.warnings.push(warning);
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
