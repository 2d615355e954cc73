/** The backups of a folder that cannot stand in for a good one, and why. */
import { describePackFailure, latestVerification, packFailuresOf } from "../model/index.ts";
import { type FolderListing, missingDataProblem } from "../store/index.ts";
import type { FailedBackup } from "./stats-report.ts";

/**
 * Backups whose latest verification failed, that reference a pack whose newest
 * verification failed, or whose data file is gone, oldest first.
 */
export function failedBackups(listing: FolderListing, nowMs: number): FailedBackup[] {
  const out: FailedBackup[] = [];
  const packFailures = packFailuresOf([...listing.backups, ...(listing.missingData ?? [])].map((b) => b.manifest));
  for (const b of listing.backups) {
    const v = latestVerification(b.manifest);
    const viaPacks = packFailures.get(b.manifest.id);
    if (v && !v.ok)
      out.push({
        id: b.manifest.id,
        created_at: b.manifest.created_at,
        reason: "failed verification",
        detail: v.problems[0] ?? "unknown problem",
        at: v.at,
        age_ms: nowMs - Date.parse(v.at),
      });
    else if (viaPacks) {
      const at = viaPacks.reduce((a, f) => (Date.parse(f.at) > Date.parse(a) ? f.at : a), viaPacks[0]!.at);
      out.push({
        id: b.manifest.id,
        created_at: b.manifest.created_at,
        reason: "pack failed verification",
        detail: viaPacks.map(describePackFailure).join("; "),
        at,
        age_ms: nowMs - Date.parse(at),
        packs: viaPacks.map((f) => f.pack),
      });
    }
  }
  for (const b of listing.missingData ?? []) {
    const v = latestVerification(b.manifest);
    out.push({
      id: b.manifest.id,
      created_at: b.manifest.created_at,
      reason: "data missing",
      detail: listing.problems.find((p) => p.id === b.manifest.id)?.reason ?? missingDataProblem(b.manifest),
      at: v?.at ?? null,
      age_ms: v ? nowMs - Date.parse(v.at) : null,
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
