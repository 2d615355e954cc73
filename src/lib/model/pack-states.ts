/**
 * Where a pack's verification state lives: nowhere of its own. It is derived
 * from the verification records of the backups that reference it, so it
 * travels with the manifests and needs no state besides them. A record
 * checked a pack when it has `bad_packs` (every pack of its backup was
 * checked) and its backup references the pack. Layout: docs/format.md.
 */
import { type Manifest, storedPages } from "./manifest.ts";

export interface PackState {
  /** The newest record that checked the pack lists it in `bad_packs`. */
  bad: boolean;
  /** That record's time (ISO 8601, as recorded). */
  at: string;
}

/**
 * The state of every pack that some record in `manifests` (one folder's)
 * checked: bad when the newest such record by `at` lists it, good otherwise.
 * On equal times a failure wins; a record whose `at` does not parse is older
 * than any other. Packs no record checked are not in the map.
 */
export function packStates(manifests: Manifest[]): Map<string, PackState> {
  const states = new Map<string, PackState & { ms: number }>();
  for (const m of manifests) {
    const pages = storedPages(m);
    if (!pages) continue;
    for (const v of m.verifications) {
      if (!v.bad_packs) continue;
      // A time that does not parse orders before every other: its finding stands until a dated one.
      const ms = Number.isNaN(Date.parse(v.at)) ? Number.NEGATIVE_INFINITY : Date.parse(v.at);
      const bad = new Set(v.bad_packs);
      for (const p of pages.packs) {
        const seen = states.get(p.name);
        const isBad = bad.has(p.name);
        if (!seen || ms > seen.ms || (ms === seen.ms && isBad && !seen.bad))
          states.set(p.name, { bad: isBad, at: v.at, ms });
      }
    }
  }
  return new Map([...states].map(([name, { bad, at }]) => [name, { bad, at }]));
}
