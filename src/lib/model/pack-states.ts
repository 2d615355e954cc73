/**
 * Where a pack's verification state lives: nowhere of its own. It is derived
 * from the verification records of the backups that reference it, so it
 * travels with the manifests and needs no state besides them. A record
 * checked a pack when it has `bad_packs` and its backup references the pack:
 * every pack of its backup, or only those in its `packs_checked` (a pack
 * record of `verify --random`). Layout: docs/format.md.
 */
import { latestVerification, type Manifest, storedPages, type Verification } from "./manifest.ts";

export interface PackState {
  /** The newest record that checked the pack lists it in `bad_packs`. */
  bad: boolean;
  /** That record's time (ISO 8601, as recorded). */
  at: string;
  /** The backup that record verified. */
  by: string;
}

/**
 * The state of every pack that some record in `manifests` (one folder's)
 * checked: bad when the newest such record by `at` lists it, good otherwise.
 * On equal times a failure wins; a record whose `at` does not parse is older
 * than any other (its finding stands until a dated one). Packs no record
 * checked are not in the map. The one rule behind rule 4 (backup never reuses
 * a bad pack) and the FAILED state derived for every backup that references one.
 */
export function packStates(manifests: readonly Manifest[]): Map<string, PackState> {
  const states = new Map<string, PackState & { ms: number }>();
  for (const m of manifests) {
    const packs = storedPages(m)?.packs.map((p) => p.name) ?? [];
    for (const v of m.verifications) {
      if (!v.bad_packs) continue; // its packs were not checked
      const ms = Number.isNaN(Date.parse(v.at)) ? Number.NEGATIVE_INFINITY : Date.parse(v.at);
      const checked = v.packs_checked;
      for (const name of checked ? packs.filter((p) => checked.includes(p)) : packs) {
        const bad = v.bad_packs.includes(name);
        const seen = states.get(name);
        if (seen && (seen.ms > ms || (seen.ms === ms && (seen.bad || !bad)))) continue;
        states.set(name, { bad, at: v.at, by: m.id, ms });
      }
    }
  }
  return new Map([...states].map(([name, { bad, at, by }]) => [name, { bad, at, by }]));
}

/**
 * `verifications` cut to about `max` records, oldest dropped first, without
 * dropping what still decides something: the backup's own latest
 * verification, and a record that checked packs (`bad_packs`) unless every
 * pack it checked (`packs_checked`, else all of `packs`) was checked by a
 * newer record of the same history. So frequent pack records cannot evict a
 * failed verdict; the history may then stay above `max`.
 */
export function trimVerifications(
  verifications: readonly Verification[],
  packs: readonly string[],
  max: number,
): Verification[] {
  let excess = verifications.length - max;
  if (excess <= 0) return [...verifications];
  const own = latestVerification({ verifications });
  const checkedLater = new Set<string>();
  const keep = new Array<boolean>(verifications.length).fill(true);
  for (let i = verifications.length - 1; i >= 0; i--) {
    const v = verifications[i]!;
    const checked = v.bad_packs ? (v.packs_checked ?? packs) : [];
    const superseded = checked.every((p) => checkedLater.has(p));
    for (const p of checked) checkedLater.add(p);
    keep[i] = v === own || !superseded;
  }
  return verifications.filter((_, i) => keep[i] || excess-- <= 0);
}
