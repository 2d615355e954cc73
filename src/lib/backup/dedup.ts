/**
 * The pages a pages backup need not store again: page id → (pack, entry),
 * over the indexes of packs that listed backups reference, plus every page
 * this backup stored so far (so a page repeated within one image is stored
 * once). Exact: a hit is always a full 16-byte match.
 *
 * Compact, because a folder's packs may hold millions of page versions (a
 * 5 GiB database keeps ~1.3 M pages, and each retained day adds its changed
 * ones): the ids are not copied, they stay in the packs' own id arrays (the
 * decoded indexes, 16 bytes an entry), and the table holds one u32 a slot,
 * an entry's number across all packs in the order added, found by linear
 * probing at a load of at most 0.7: about 16 + 5.7 bytes an entry in all.
 * Ids are HMAC outputs, so their first four bytes are a good hash.
 */
import { PAGE_ID_BYTES } from "../pages/index.ts";

/** Highest share of slots in use; past it the table grows. */
const MAX_LOAD = 0.7;
const MIN_SLOTS = 1024;

const slotsFor = (entries: number) => Math.max(MIN_SLOTS, Math.ceil(entries / MAX_LOAD) + 1);

export class DedupTable {
  /** Entry number + 1 of each slot (0: empty). */
  private slots: Uint32Array;
  /** Each pack's ids, 16 bytes an entry; only the last pack may still grow. */
  private packIds: Uint8Array[] = [];
  /** Entries of each pack. */
  private counts: number[] = [];
  /** Number of each pack's first entry: the sum of the counts before it. */
  private starts: number[] = [];
  private total = 0;
  /** Ids in the table (an id repeated in a later pack is not). */
  private count = 0;
  /** Whether each pack is one opened here (its ids grown here), not given. */
  private owned: boolean[] = [];
  /** Entry numbers whose id was stored again later (append with `move`): never found again. */
  private moved = new Set<number>();

  constructor(expected = 0) {
    this.slots = new Uint32Array(slotsFor(expected));
  }

  /** Distinct ids found by get(). */
  get size(): number {
    return this.count;
  }

  /** Bytes this table holds: its slots and the ids of the packs it was not given (openPack). */
  get byteLength(): number {
    let n = this.slots.byteLength;
    for (const [p, own] of this.owned.entries()) if (own) n += this.packIds[p]!.byteLength;
    return n;
  }

  /**
   * Adds a stored pack whose entry k has the id at `ids[16k …]` (kept, not copied):
   * each of its ids not in the table yet now points to it. Returns the pack's number
   * (0, 1, … in the order packs are added or opened).
   */
  addPack(ids: Uint8Array): number {
    if (ids.length % PAGE_ID_BYTES !== 0)
      throw new RangeError(`pack ids are ${ids.length} bytes, not a multiple of 16`);
    const entries = ids.length / PAGE_ID_BYTES;
    this.reserve(this.count + entries);
    const p = this.push(ids, entries, false);
    for (let e = 0; e < entries; e++) this.insert(this.starts[p]! + e);
    return p;
  }

  /** Starts a pack this backup writes, empty; append() adds to it. Returns its number. */
  openPack(): number {
    return this.push(new Uint8Array(256 * PAGE_ID_BYTES), 0, true);
  }

  /**
   * Adds `id` as the next entry of the open pack (the last one, if opened); returns that entry.
   * `move`: a page stored again (page-sink.ts, small packs): where the id was found before, it
   * is now found here; otherwise the first place added stays the one found.
   */
  append(id: Uint8Array, move = false): number {
    const p = this.packIds.length - 1;
    if (!this.owned[p]) throw new Error("dedup table: no open pack");
    if (id.length !== PAGE_ID_BYTES) throw new RangeError(`a page id is ${PAGE_ID_BYTES} bytes, got ${id.length}`);
    this.reserve(this.count + 1);
    const e = this.counts[p]!;
    let ids = this.packIds[p]!;
    if ((e + 1) * PAGE_ID_BYTES > ids.length) {
      const grown = new Uint8Array(ids.length * 2);
      grown.set(ids);
      this.packIds[p] = ids = grown;
    }
    ids.set(id, e * PAGE_ID_BYTES);
    this.counts[p] = e + 1;
    this.total++;
    this.insert(this.starts[p]! + e, move);
    return e;
  }

  /** Where a page with `id` is stored (the first place added), or null. */
  get(id: Uint8Array): { pack: number; entry: number } | null {
    const n = this.lookup(id, 0);
    if (n < 0) return null;
    const pack = this.packOf(n);
    return { pack, entry: n - this.starts[pack]! };
  }

  /**
   * The entry number (across packs, in the order added) where a page with the id at
   * `ids[off …]` is stored, or -1: get() without an object a lookup (a backup makes
   * one for every page). packOf() and entryOf() take it apart.
   */
  lookup(ids: Uint8Array, off: number): number {
    const slots = this.slots;
    let s = this.home(ids, off);
    for (;;) {
      const v = slots[s]!;
      if (v === 0) return -1;
      const p = this.packOf(v - 1);
      if (this.sameId(ids, off, this.packIds[p]!, (v - 1 - this.starts[p]!) * PAGE_ID_BYTES)) return v - 1;
      if (++s === slots.length) s = 0;
    }
  }

  /** The entry within its pack of entry number `n` (of pack `pack`, packOf(n)). */
  entryOf(n: number, pack: number): number {
    return n - this.starts[pack]!;
  }

  private push(ids: Uint8Array, entries: number, owned: boolean): number {
    this.packIds.push(ids);
    this.owned.push(owned);
    this.counts.push(entries);
    this.starts.push(this.total);
    this.total += entries;
    return this.packIds.length - 1;
  }

  /** The first slot to probe for the id at `ids[off …]`. */
  private home(ids: Uint8Array, off: number): number {
    const h = (ids[off]! | (ids[off + 1]! << 8) | (ids[off + 2]! << 16) | (ids[off + 3]! << 24)) >>> 0;
    return Math.floor((h / 4294967296) * this.slots.length);
  }

  private sameId(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
    for (let i = 0; i < PAGE_ID_BYTES; i++) if (a[ao + i] !== b[bo + i]) return false;
    return true;
  }

  /** The pack holding entry number `n`. */
  packOf(n: number): number {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= n) lo = mid;
      else hi = mid - 1;
    }
    // Empty packs share their start with the next one: the entry is in the last pack starting there.
    return lo;
  }

  /** Puts entry number `n` in the table unless its id is there already (then, with `move`, in that place). */
  private insert(n: number, move = false): void {
    const p = this.packOf(n);
    const ids = this.packIds[p]!;
    const off = (n - this.starts[p]!) * PAGE_ID_BYTES;
    const slots = this.slots;
    let s = this.home(ids, off);
    for (;;) {
      const v = slots[s]!;
      if (v === 0) break;
      const q = this.packOf(v - 1);
      if (this.sameId(ids, off, this.packIds[q]!, (v - 1 - this.starts[q]!) * PAGE_ID_BYTES)) {
        if (!move) return;
        this.moved.add(v - 1);
        slots[s] = n + 1;
        return;
      }
      if (++s === slots.length) s = 0;
    }
    slots[s] = n + 1;
    this.count++;
  }

  /** Grows the table (rehashing every entry, first places first) so that `entries` fit under MAX_LOAD. */
  private reserve(entries: number): void {
    if (entries <= this.slots.length * MAX_LOAD) return;
    this.slots = new Uint32Array(Math.max(slotsFor(entries), this.slots.length * 2));
    this.count = 0;
    for (let n = 0; n < this.total; n++) if (!this.moved.has(n)) this.insert(n);
  }
}
