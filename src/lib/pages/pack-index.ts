/**
 * The index of a pack, written with it and never changed: the page id of
 * every entry in entry order, and where each zstd frame starts in the
 * compressed (unencrypted) pack stream, so a reader can decompress only the
 * frames it needs. Only backups read it (to find pages already stored); a
 * pack restores without it. Layout (little-endian, before optional age):
 * docs/format.md.
 */
import { ByteReader, ByteWriter, checkU32, isValidPageSize } from "./layout.ts";
import { KEY_FINGERPRINT_BYTES, PAGE_ID_BYTES } from "./page-id.ts";

export const INDEX_MAGIC = "SQLBKIDX";
export const INDEX_VERSION = 1;
const HEADER_BYTES = 8 + 5 * 4 + KEY_FINGERPRINT_BYTES;

export interface PackIndex {
  pageSize: number;
  pagesPerFrame: number;
  /** Fingerprint of the id key the ids were made with (keyFingerprint). */
  keyFingerprint: Uint8Array;
  /** entryCount × 16 bytes: the id of entry k at k·16. */
  ids: Uint8Array;
  /** Offset of each frame in the compressed, unencrypted pack stream; the first is 0. */
  frameOffsets: number[];
}

export function entryCountOf(index: PackIndex): number {
  return index.ids.length / PAGE_ID_BYTES;
}

/** The id of entry `k`. */
export function idAt(index: PackIndex, k: number): Uint8Array {
  return index.ids.subarray(k * PAGE_ID_BYTES, (k + 1) * PAGE_ID_BYTES);
}

/** Problems of an index's shape, or null (shared by encode and decode). */
function indexProblem(index: PackIndex): string | null {
  if (!isValidPageSize(index.pageSize)) return `page size ${index.pageSize} is not a power of two from 512 to 65536`;
  if (index.pagesPerFrame < 1) return "pages per frame is 0";
  if (index.keyFingerprint.length !== KEY_FINGERPRINT_BYTES)
    return `key fingerprint is ${index.keyFingerprint.length} bytes, not ${KEY_FINGERPRINT_BYTES}`;
  if (index.ids.length % PAGE_ID_BYTES !== 0) return `ids are ${index.ids.length} bytes, not a multiple of 16`;
  const entries = index.ids.length / PAGE_ID_BYTES;
  if (entries === 0) return "the pack has no entries";
  const frames = Math.ceil(entries / index.pagesPerFrame);
  if (index.frameOffsets.length !== frames)
    return (
      `${entries} entries at ${index.pagesPerFrame} per frame make ${frames} frames, ` +
      `the index lists ${index.frameOffsets.length}`
    );
  if (index.frameOffsets[0] !== 0) return `frame 0 starts at ${index.frameOffsets[0]}, not 0`;
  for (let i = 1; i < frames; i++) {
    if (!(index.frameOffsets[i]! > index.frameOffsets[i - 1]!))
      return `frame ${i} starts at ${index.frameOffsets[i]}, not after frame ${i - 1} (${index.frameOffsets[i - 1]})`;
  }
  return null;
}

/** The index's bytes (before optional encryption). Throws RangeError for an inconsistent index. */
export function encodePackIndex(index: PackIndex): Uint8Array {
  const problem = indexProblem(index);
  if (problem) throw new RangeError(`pack index: ${problem}`);
  checkU32(index.pagesPerFrame, "pages per frame");
  checkU32(index.ids.length / PAGE_ID_BYTES, "entry count");
  for (const o of index.frameOffsets) {
    if (!Number.isSafeInteger(o)) throw new RangeError(`pack index: frame offset ${o} is not an integer`);
  }
  const w = new ByteWriter(HEADER_BYTES + index.ids.length + 8 * index.frameOffsets.length);
  w.ascii(INDEX_MAGIC);
  w.u32(INDEX_VERSION);
  w.u32(index.pageSize);
  w.u32(index.pagesPerFrame);
  w.u32(index.ids.length / PAGE_ID_BYTES);
  w.u32(index.frameOffsets.length);
  w.put(index.keyFingerprint);
  w.put(index.ids);
  for (const o of index.frameOffsets) w.u64(o);
  return w.bytes;
}

/**
 * Parses an index's bytes (after decryption), strictly: magic, version,
 * exact length, a frame count that matches the entries, frame offsets from
 * 0 and increasing. Throws PageFormatError naming `what` and the problem.
 */
export function decodePackIndex(bytes: Uint8Array, what = "pack index"): PackIndex {
  const r = new ByteReader(bytes, what);
  r.magic(INDEX_MAGIC);
  const version = r.u32();
  if (version !== INDEX_VERSION) r.fail(`format version ${version} is not one this sqlbak reads (${INDEX_VERSION})`);
  const pageSize = r.u32();
  const pagesPerFrame = r.u32();
  const entryCount = r.u32();
  const frameCount = r.u32();
  const expected = HEADER_BYTES + entryCount * PAGE_ID_BYTES + frameCount * 8;
  if (bytes.length !== expected)
    r.fail(`${entryCount} entries and ${frameCount} frames need ${expected} bytes, the index has ${bytes.length}`);
  const keyFingerprint = r.take(KEY_FINGERPRINT_BYTES).slice();
  const ids = r.take(entryCount * PAGE_ID_BYTES).slice();
  const frameOffsets: number[] = [];
  for (let i = 0; i < frameCount; i++) frameOffsets.push(r.u64());
  r.end();
  const index = { pageSize, pagesPerFrame, keyFingerprint, ids, frameOffsets };
  const problem = indexProblem(index);
  if (problem) r.fail(problem);
  return index;
}
