/**
 * The pages a pages backup need not store again: page id → (pack, entry),
 * from the indexes of packs that listed backups reference, plus every page
 * this backup stored so far (so a page repeated within one image is stored
 * once). Open addressing over typed arrays: 24 bytes a slot, no object per
 * page. Ids are HMAC outputs, so their first four bytes are a good hash.
 */
import { PAGE_ID_BYTES } from "../pages/index.ts";

/** Slots per entry kept at least this: lookups stay short (load ≤ 0.5). */
const MIN_SLOTS_PER_ENTRY = 2;

export class DedupTable {
  private ids: Uint8Array;
  /** Pack of each slot, plus one (0: empty slot). */
  private packs: Uint32Array;
  private entries: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 1024) {
    let slots = 1024;
    while (slots < expected * MIN_SLOTS_PER_ENTRY) slots *= 2;
    this.ids = new Uint8Array(slots * PAGE_ID_BYTES);
    this.packs = new Uint32Array(slots);
    this.entries = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The slot holding `id`, or the empty slot where it would go. */
  private slotOf(id: Uint8Array): number {
    let slot = (id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) & this.mask;
    for (;;) {
      if (this.packs[slot] === 0) return slot;
      const off = slot * PAGE_ID_BYTES;
      let same = true;
      for (let i = 0; i < PAGE_ID_BYTES && same; i++) same = this.ids[off + i] === id[i];
      if (same) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Where a page with `id` is stored, or null. */
  get(id: Uint8Array): { pack: number; entry: number } | null {
    const slot = this.slotOf(id);
    const p = this.packs[slot]!;
    return p === 0 ? null : { pack: p - 1, entry: this.entries[slot]! };
  }

  /** Records that `id` is entry `entry` of pack `pack`; the first place recorded for an id stays. */
  add(id: Uint8Array, pack: number, entry: number): void {
    if (id.length !== PAGE_ID_BYTES) throw new RangeError(`a page id is ${PAGE_ID_BYTES} bytes, got ${id.length}`);
    if ((this.count + 1) * MIN_SLOTS_PER_ENTRY > this.packs.length) this.grow();
    const slot = this.slotOf(id);
    if (this.packs[slot] !== 0) return;
    this.ids.set(id, slot * PAGE_ID_BYTES);
    this.packs[slot] = pack + 1;
    this.entries[slot] = entry;
    this.count++;
  }

  private grow(): void {
    const { ids, packs, entries } = this;
    const slots = packs.length * 2;
    this.ids = new Uint8Array(slots * PAGE_ID_BYTES);
    this.packs = new Uint32Array(slots);
    this.entries = new Uint32Array(slots);
    this.mask = slots - 1;
    this.count = 0;
    for (let s = 0; s < packs.length; s++) {
      if (packs[s] === 0) continue;
      const id = ids.subarray(s * PAGE_ID_BYTES, (s + 1) * PAGE_ID_BYTES);
      const slot = this.slotOf(id);
      this.ids.set(id, slot * PAGE_ID_BYTES);
      this.packs[slot] = packs[s]!;
      this.entries[slot] = entries[s]!;
      this.count++;
    }
  }
}
