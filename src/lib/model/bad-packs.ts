/**
 * Which packs of a folder are bad, derived from the verification records of
 * the backups that reference them: nothing is rewritten when a shared pack
 * fails, yet every backup that references it reads as FAILED. A record with
 * `bad_packs` checked every pack of its backup, so it says each of them is
 * bad (named) or good (not named); the newest such record of a pack wins.
 * Layout: docs/format.md.
 */
import { latestVerification, type Manifest, storedPages } from "./manifest.ts";
import { packStates } from "./pack-states.ts";

/** The record that last judged a pack bad: when it ran, and which backup it verified. */
export interface BadPackRecord {
  at: string;
  by: string;
}

/** A backup failed through a pack another record (or an older one of its own) marks bad. */
export interface PackFailure extends BadPackRecord {
  pack: string;
}

/**
 * Given the manifests of one folder (listed or with data missing), return
 * every pack whose newest verification record marks it bad, with that record.
 * Records are ordered by time; at the same time a bad verdict wins.
 */
export function badPacksOf(manifests: readonly Manifest[]): Map<string, BadPackRecord> {
  const out = new Map<string, BadPackRecord>();
  for (const [name, s] of packStates(manifests)) if (s.bad) out.set(name, { at: s.at, by: s.by });
  return out;
}

/**
 * Per backup of `manifests` (one folder) whose own latest verification did not
 * fail: the bad packs (badPacksOf) it references, in its pack order. A backup
 * whose own latest record failed is FAILED by that record already.
 */
export function packFailuresOf(manifests: readonly Manifest[]): Map<string, PackFailure[]> {
  const bad = badPacksOf(manifests);
  const out = new Map<string, PackFailure[]>();
  if (bad.size === 0) return out;
  for (const m of manifests) {
    if (latestVerification(m)?.ok === false) continue;
    const failures: PackFailure[] = [];
    for (const p of storedPages(m)?.packs ?? []) {
      const r = bad.get(p.name);
      if (r) failures.push({ pack: p.name, ...r });
    }
    if (failures.length) out.set(m.id, failures);
  }
  return out;
}

/** "pack <name> failed verification of <id> at <time>": why a backup is FAILED through a pack. */
export function describePackFailure(f: PackFailure): string {
  return `pack ${f.pack} failed verification of ${f.by} at ${f.at}`;
}
