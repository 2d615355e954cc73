/** Planning one database's rotation from its folder's listing: which backups are bad, which are protected, what goes. */
import type { ResolvedConfig, RetentionPolicy } from "../config/index.ts";
import { beforeShrinkId, latestVerification, packFailuresOf } from "../model/index.ts";
import { describeProblem, listFolder, type StoredBackup } from "../store/index.ts";
import { type BadBackup, planRetention, type RetentionInput } from "./policy.ts";
import type { RotateResult } from "./rotate-result.ts";

/** Why a protected backup is kept when no rule keeps it: the last one from before an unacknowledged shrink. */
export const BEFORE_SHRINK_REASON = "before shrink";

/** Lists the folder, plans with planRetention into `result`, and returns the backups with the ids to remove. */
export async function planRotation(
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
