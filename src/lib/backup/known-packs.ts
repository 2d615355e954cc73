/**
 * The packs a new pages backup may reference instead of storing pages again:
 * every pack that a listed backup of the folder references (so present, with
 * its size where sizes are checked), whose index can be read, decoded and was
 * written under the same id key. A pack whose index is missing, unreadable or
 * of another key is left out: its pages are stored again (dedup finds less,
 * nothing is ever referenced that cannot be proven present).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type AgeKeys, decryptBytes } from "../../age/index.ts";
import { PACK_FILE_RE, packIndexName, type StoredPack, storedPages } from "../model/index.ts";
import { decodePackIndex, keyFingerprint, type PackIndex } from "../pages/index.ts";
import type { StoredBackup } from "../store/index.ts";

export interface KnownPack {
  /** As the manifests record it (name, stored size and SHA-256), without `new`. */
  stored: StoredPack;
  index: PackIndex;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Reads one pack's index, or null when it is missing, cannot be decrypted or decoded, or is of another key. */
async function readIndex(folder: string, pack: StoredPack, fingerprint: Uint8Array, keys: AgeKeys | null) {
  const m = PACK_FILE_RE.exec(pack.name);
  if (!m) return null;
  const encrypted = m[3] !== undefined;
  try {
    let bytes: Uint8Array = readFileSync(join(folder, packIndexName(`pack-${m[1]}-${m[2]}`, encrypted)));
    if (encrypted) {
      if (!keys) return null;
      bytes = await decryptBytes(bytes, keys);
    }
    const index = decodePackIndex(bytes, packIndexName(`pack-${m[1]}-${m[2]}`, encrypted));
    return sameBytes(index.keyFingerprint, fingerprint) ? index : null;
  } catch {
    return null; // missing, unreadable, not ours: the pages it holds are stored again
  }
}

/**
 * The usable packs referenced by `backups` (a listing of `folder`), each
 * once. A pack that two manifests record with different sizes or checksums,
 * or whose index disagrees with the manifests on page size or frame size, is
 * left out. `keys` opens encrypted indexes (null: they are left out).
 */
export async function loadKnownPacks(
  folder: string,
  backups: StoredBackup[],
  idKey: Uint8Array,
  keys: AgeKeys | null,
): Promise<KnownPack[]> {
  const byName = new Map<string, { stored: StoredPack; pageSize: number; pagesPerFrame: number } | null>();
  for (const b of backups) {
    const pages = storedPages(b.manifest);
    for (const p of pages?.packs ?? []) {
      const seen = byName.get(p.name);
      const mine = { pageSize: pages!.page_size, pagesPerFrame: pages!.pages_per_frame };
      if (seen === undefined) byName.set(p.name, { stored: { name: p.name, size: p.size, sha256: p.sha256 }, ...mine });
      else if (
        seen &&
        (seen.stored.size !== p.size ||
          seen.stored.sha256 !== p.sha256 ||
          seen.pageSize !== mine.pageSize ||
          seen.pagesPerFrame !== mine.pagesPerFrame)
      )
        byName.set(p.name, null);
    }
  }
  const fingerprint = keyFingerprint(idKey);
  const out: KnownPack[] = [];
  for (const known of byName.values()) {
    if (!known) continue;
    const index = await readIndex(folder, known.stored, fingerprint, keys);
    if (index && index.pageSize === known.pageSize && index.pagesPerFrame === known.pagesPerFrame)
      out.push({ stored: known.stored, index });
  }
  return out;
}
