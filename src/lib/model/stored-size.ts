/**
 * Sizes of what backups store, once packs are shared: a pages backup's
 * manifest size is its map's alone, and the packs it references are counted
 * once per folder, by name, whichever backups reference them.
 */
import { type Manifest, storedPages } from "./manifest.ts";

/**
 * What backup `m` added to its folder when it was written: a file backup its
 * data file; a pages backup its map plus the packs it wrote (`new: true`).
 */
export function addedBytes(m: Manifest): number {
  const pages = storedPages(m);
  if (!pages) return m.stored.size;
  return pages.packs.reduce((n, p) => n + (p.new ? p.size : 0), m.stored.size);
}

/**
 * Stored bytes of `backups` (of one folder): every data file and map, plus
 * every pack they reference, each counted once. Pack indexes are left out:
 * manifests do not record them (they are about 16 bytes per stored page).
 */
export function storedBytesOf(backups: Manifest[]): number {
  const packs = new Map<string, number>();
  let total = 0;
  for (const m of backups) {
    total += m.stored.size;
    for (const p of storedPages(m)?.packs ?? []) if (!packs.has(p.name)) packs.set(p.name, p.size);
  }
  for (const size of packs.values()) total += size;
  return total;
}
