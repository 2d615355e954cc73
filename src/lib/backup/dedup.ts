/**
 * The pages a pages backup need not store again: page id → (pack, entry),
 * over the packs that listed backups reference, plus every page this backup
 * stored so far (so a page repeated within one image is stored once).
 *
 * Compact, because a folder's packs may hold millions of page versions (a
 * 5 GiB database keeps ~1.3 M pages, and each retained day adds its changed
 * ones). Of a stored pack the table keeps only the first 8 bytes of each id
 * (its key), and a slot is one u32, an entry's number across all packs in
 * the order added, found by linear probing at a load of at most 0.7: about
 * 8 + 5.7 bytes an entry. A key match is only a candidate: the caller confirms
 * it against the pack's full ids (page-sink.ts reads them again from the
 * index) and asks for the next candidate when they differ, so a false match
 * costs a lookup, never a wrong reference. The packs this backup writes keep
 * their full ids here. Ids are HMAC outputs, so their bytes are a good hash.
 */
import { PAGE_ID_BYTES } from "../pages/index.ts";

/** Bytes of the key kept for each entry of a stored pack. */
export const KEY_BYTES = 8;
/** Highest share of slots in use; past it the table grows. */
const MAX_LOAD = 0.7;
const MIN_SLOTS = 1024;

const slotsFor = (entries: number) => Math.max(MIN_SLOTS, Math.ceil(entries / MAX_LOAD) + 1);

export interface Candidate {
  pack: number;
  entry: number;
}

export class DedupTable {
  /** Entry number + 1 of each slot (0: empty). */
  private slots: Uint32Array;
  /** Each pack's keys (KEY_BYTES an entry), or for an opened pack its full ids (16 bytes an entry). */
  private packKeys: Uint8Array[] = [];
  /** Bytes an entry in packKeys: KEY_BYTES, or PAGE_ID_BYTES for a pack opened here. */
  private strides: number[] = [];
  private counts: number[] = [];
  /** Number of each pack's first entry: the sum of the counts before it. */
  private starts: number[] = [];
  private total = 0;

  constructor(expected = 0) {
    this.slots = new Uint32Array(slotsFor(expected));
  }

  /** Entries in the table. */
  get size(): number {
    return this.total;
  }

  /** Bytes this table holds: slots, keys, and the full ids of the packs opened here. */
  get byteLength(): number {
    return this.slots.byteLength + this.packKeys.reduce((n, k) => n + k.byteLength, 0);
  }

  /**
   * Adds a stored pack by its entries' keys (the first KEY_BYTES of each id, in
   * entry order; kept, not copied). Returns the pack's number (0, 1, … in the
   * order packs are added or opened). An id in several packs is found first
   * where it was added first.
   */
  addPack(keys: Uint8Array): number {
    if (keys.length % KEY_BYTES !== 0) throw new RangeError(`pack keys are ${keys.length} bytes, not a multiple of 8`);
    const entries = keys.length / KEY_BYTES;
    this.reserve(this.total + entries);
    const p = this.push(keys, KEY_BYTES, entries);
    for (let e = 0; e < entries; e++) this.insert(this.starts[p]! + e, keys, e * KEY_BYTES);
    return p;
  }

  /** Starts a pack this backup writes, empty; append() adds to it. Returns its number. */
  openPack(): number {
    return this.push(new Uint8Array(256 * PAGE_ID_BYTES), PAGE_ID_BYTES, 0);
  }

  /** Adds `id` as the next entry of the open pack (the last one, if opened); returns that entry. */
  append(id: Uint8Array): number {
    const p = this.packKeys.length - 1;
    if (this.strides[p] !== PAGE_ID_BYTES) throw new Error("dedup table: no open pack");
    if (id.length !== PAGE_ID_BYTES) throw new RangeError(`a page id is ${PAGE_ID_BYTES} bytes, got ${id.length}`);
    this.reserve(this.total + 1);
    const e = this.counts[p]!;
    let ids = this.packKeys[p]!;
    if ((e + 1) * PAGE_ID_BYTES > ids.length) {
      const grown = new Uint8Array(ids.length * 2);
      grown.set(ids);
      this.packKeys[p] = ids = grown;
    }
    ids.set(id, e * PAGE_ID_BYTES);
    this.counts[p] = e + 1;
    this.total++;
    this.insert(this.starts[p]! + e, ids, e * PAGE_ID_BYTES);
    return e;
  }

  /**
   * The `skip`-th place (0: the first added) whose key is that of `id`, or null
   * when there is none. A place in a pack opened here is an exact match; one
   * in a stored pack must be confirmed against its full ids (ownIds() is null there).
   */
  candidate(id: Uint8Array, skip = 0): Candidate | null {
    const slots = this.slots;
    let s = this.home(id, 0);
    for (;;) {
      const v = slots[s]!;
      if (v === 0) return null;
      const p = this.packOf(v - 1);
      const e = v - 1 - this.starts[p]!;
      const stride = this.strides[p]!;
      const len = stride === PAGE_ID_BYTES ? PAGE_ID_BYTES : KEY_BYTES;
      if (sameBytes(id, 0, this.packKeys[p]!, e * stride, len) && skip-- === 0) return { pack: p, entry: e };
      if (++s === slots.length) s = 0;
    }
  }

  /** Whether `pack` was opened here (its candidates are exact matches). */
  isOpened(pack: number): boolean {
    return this.strides[pack] === PAGE_ID_BYTES;
  }

  private push(keys: Uint8Array, stride: number, entries: number): number {
    this.packKeys.push(keys);
    this.strides.push(stride);
    this.counts.push(entries);
    this.starts.push(this.total);
    this.total += entries;
    return this.packKeys.length - 1;
  }

  /** The first slot to probe for the key at `bytes[off …]`. */
  private home(bytes: Uint8Array, off: number): number {
    const h = (bytes[off]! | (bytes[off + 1]! << 8) | (bytes[off + 2]! << 16) | (bytes[off + 3]! << 24)) >>> 0;
    return Math.floor((h / 4294967296) * this.slots.length);
  }

  /** The pack holding entry number `n` (an empty pack shares its start with the next: the later one holds it). */
  private packOf(n: number): number {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= n) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Puts entry number `n`, whose key is at `bytes[off …]`, in the first free slot of its probe sequence. */
  private insert(n: number, bytes: Uint8Array, off: number): void {
    const slots = this.slots;
    let s = this.home(bytes, off);
    while (slots[s] !== 0) if (++s === slots.length) s = 0;
    slots[s] = n + 1;
  }

  /**
   * Grows the table so that `entries` fit under MAX_LOAD, putting every entry
   * back in the order added (so the first place of an id stays the first candidate).
   */
  private reserve(entries: number): void {
    if (entries <= this.slots.length * MAX_LOAD) return;
    this.slots = new Uint32Array(Math.max(slotsFor(entries), this.slots.length * 2));
    for (let p = 0; p < this.packKeys.length; p++)
      for (let e = 0; e < this.counts[p]!; e++)
        this.insert(this.starts[p]! + e, this.packKeys[p]!, e * this.strides[p]!);
  }
}

function sameBytes(a: Uint8Array, ao: number, b: Uint8Array, bo: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}
