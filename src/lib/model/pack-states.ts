/**
 * Where a pack's verification state lives: nowhere of its own. It is derived
 * from the verification records of the backups that reference it, so it
 * travels with the manifests and needs no state besides them. A record
 * checked a pack when it has `bad_packs` and its backup references the pack:
 * every pack of its backup, or only those in its `packs_checked` (a pack
 * record of `verify --random`). Layout: docs/format.md.
 */
import { type Manifest, storedPages } from "./manifest.ts";

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
