/**
 * The packs a new pages backup may reference instead of storing pages again:
 * every pack that a listed backup of the folder references, present in the
 * folder as a regular file of its recorded size, whose latest verification
 * did not fail (packStates), and whose index can be read, decoded and was
 * written under the same id key (an encrypted pack's index is sealed with a
 * key derived from the id key, so a host with recipients only reads it). Any other pack is left out: its pages are
 * stored again into new packs (dedup finds less, nothing is ever referenced
 * that failed its last check or cannot be shown present).
 */
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type AgeKeys, decryptBytes } from "../../age/index.ts";
import {
  type Manifest,
  PACK_FILE_RE,
  packIndexName,
  packStates,
  type StoredPack,
  storedPages,
} from "../model/index.ts";
import { decodePackIndex, indexKey, keyFingerprint, openSealed, type PackIndex } from "../pages/index.ts";
import type { StoredBackup } from "../store/index.ts";

export interface KnownPack {
  /** As the manifests record it (name, stored size and SHA-256), without `new`. */
  stored: StoredPack;
  index: PackIndex;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Whether `pack` is in `folder` as a regular file of its recorded size (the hash is verify's to check). */
function isPresent(folder: string, pack: StoredPack): boolean {
  try {
    const st = lstatSync(join(folder, pack.name));
    return st.isFile() && st.size === pack.size;
  } catch {
    return false; // missing or unreadable: its pages are stored again
  }
}

/** The bytes of a file in `folder`, or null when it is missing. */
function readIfPresent(folder: string, name: string): Uint8Array | null {
  try {
    return readFileSync(join(folder, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/**
 * Reads one pack's index, or null when it is missing, cannot be opened or decoded, or is of another key.
 * An encrypted pack's index is `<stem>.idx.sealed`, opened with the index key derived from the id key
 * (one sealed under another id key is skipped); an older `<stem>.idx.age` is read only with `keys`.
 */
async function readIndex(folder: string, pack: StoredPack, idKey: Uint8Array, keys: AgeKeys | null) {
  const m = PACK_FILE_RE.exec(pack.name);
  if (!m) return null;
  const stem = `pack-${m[1]}-${m[2]}`;
  const encrypted = m[3] !== undefined;
  try {
    let name = packIndexName(stem, encrypted ? "sealed" : "plain");
    let bytes = readIfPresent(folder, name);
    if (bytes && encrypted) bytes = openSealed(indexKey(idKey), bytes);
    else if (!bytes && encrypted && keys) {
      name = packIndexName(stem, "age");
      bytes = readIfPresent(folder, name);
      if (bytes) bytes = await decryptBytes(bytes, keys);
    }
    if (!bytes) return null;
    const index = decodePackIndex(bytes, name);
    return sameBytes(index.keyFingerprint, keyFingerprint(idKey)) ? index : null;
  } catch {
    return null; // unreadable, damaged, not ours: the pages it holds are stored again
  }
}

/**
 * The usable packs referenced by `backups` (a listing of `folder`), each
 * once. Left out: a pack whose newest verification record lists it as bad,
 * one missing or of another size than recorded, one that two manifests record
 * with different sizes or checksums, and one whose index disagrees with the
 * manifests on page size or frame size. Sealed indexes open with `idKey`;
 * `keys` opens older age-encrypted ones (null: those are left out). `unlisted` are the folder's other valid manifests
 * (backups not listed for a missing piece): their verification records count
 * too, their packs are not offered.
 */
export async function loadKnownPacks(
  folder: string,
  backups: StoredBackup[],
  idKey: Uint8Array,
  keys: AgeKeys | null,
  unlisted: Manifest[] = [],
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
  const states = packStates([...backups.map((b) => b.manifest), ...unlisted]);
  const out: KnownPack[] = [];
  for (const [name, known] of byName) {
    if (!known || states.get(name)?.bad || !isPresent(folder, known.stored)) continue;
    const index = await readIndex(folder, known.stored, idKey, keys);
    if (index && index.pageSize === known.pageSize && index.pagesPerFrame === known.pagesPerFrame)
      out.push({ stored: known.stored, index });
  }
  return out;
}
