/**
 * Reassembling a pages backup for its checks (reassemble.ts does the work):
 * the problems found, the packs at fault, and which packs were read, so that
 * verify checks any other listed pack on its own.
 */
import { dirname } from "node:path";
import { type DecryptionKeys, NO_KEYS, WrongKeyError } from "../codec/index.ts";
import type { ByteProgress, Manifest, StoredPack } from "../model/index.ts";
import { PackKeyError } from "../pages/index.ts";
import type { StoredBackup } from "../store/index.ts";
import { ReassemblyError } from "./damaged.ts";
import { checkPack } from "./pieces.ts";
import { reassemblePages } from "./reassemble.ts";

/**
 * Reassembles pages backup `b` (manifest `m`) at `dest` (must not exist) from
 * its map and packs, which reassemblePages checks against the manifest (pack
 * SHA-256s, raw SHA-256). Returns the problems (a pack at fault is added to
 * `badPacks`); `dest` exists only when there are none. Throws as
 * decompressChecked does: WrongKeyError for a key that does not open it,
 * OperationError when `dest` cannot be written. `onProgress` as decompressChecked's.
 */
export async function reassembleChecked(
  b: StoredBackup,
  m: Manifest,
  dest: string,
  keys: DecryptionKeys = NO_KEYS,
  badPacks: string[] = [],
  onProgress?: ByteProgress,
): Promise<string[]> {
  return (await reassembleBeside(b, m, dest, keys, badPacks, true, onProgress)).problems;
}

/**
 * reassembleChecked; with `hashRaw` false the image is not hashed (`rawHashed`
 * false: the caller compares its SHA-256 before it counts). `packsRead` are
 * the indexes, in `stored.packs`, of the packs read and checked.
 */
export async function reassembleBeside(
  b: StoredBackup,
  m: Manifest,
  dest: string,
  keys: DecryptionKeys,
  badPacks: string[],
  hashRaw: boolean,
  onProgress?: ByteProgress,
): Promise<{ problems: string[]; rawHashed: boolean; packsRead: number[] }> {
  try {
    // As decompressChecked's, the image is not fsynced here: verify removes it, restore fsyncs it before its rename.
    const r = await reassemblePages({ ...b, manifest: m }, dirname(b.dataPath), keys, dest, {
      sync: false,
      hashRaw,
      onProgress,
    });
    return { problems: [], rawHashed: hashRaw, packsRead: r.packsRead };
  } catch (err) {
    if (err instanceof PackKeyError) throw new WrongKeyError(err.message);
    if (!(err instanceof ReassemblyError)) throw err;
    if (err.pack !== null && !badPacks.includes(err.pack)) badPacks.push(err.pack);
    return { problems: err.problems, rawHashed: true, packsRead: [] };
  }
}

/** Hashes packs of `folder` that reassembly did not read: their problems and the bad ones' names. */
export async function checkUnreadPacks(
  folder: string,
  packs: StoredPack[],
): Promise<{ problems: string[]; badPacks: string[] }> {
  const problems: string[] = [];
  const badPacks: string[] = [];
  for (const p of packs) {
    const problem = await checkPack(folder, p, true);
    if (problem) {
      problems.push(problem);
      badPacks.push(p.name);
    }
  }
  return { problems, badPacks };
}
