import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { DedupTable, KEY_BYTES } from "../../src/lib/backup/dedup.ts";

const randomIds = (n: number) => new Uint8Array(randomBytes(n * 16));
const idOf = (ids: Uint8Array, k: number) => ids.subarray(k * 16, (k + 1) * 16);
/** The keys a stored pack is added by: the first 8 bytes of each id. */
function keysOf(ids: Uint8Array): Uint8Array {
  const n = ids.length / 16;
  const out = new Uint8Array(n * KEY_BYTES);
  for (let k = 0; k < n; k++) out.set(ids.subarray(k * 16, k * 16 + KEY_BYTES), k * KEY_BYTES);
  return out;
}

describe("DedupTable", () => {
  it("finds every id added, across growth from its smallest size, first where it was added first", () => {
    const t = new DedupTable();
    const packs = Array.from({ length: 7 }, () => randomIds(3000));
    for (const [p, ids] of packs.entries()) expect(t.addPack(keysOf(ids))).toBe(p);
    // A later pack repeating ids of earlier ones: their first place stays the first candidate.
    const repeat = new Uint8Array([...idOf(packs[2]!, 5), ...idOf(packs[0]!, 9), ...randomIds(1)]);
    expect(t.addPack(keysOf(repeat))).toBe(7);
    // A pack written now: appended ids.
    expect(t.openPack()).toBe(8);
    const fresh = randomIds(20_000);
    for (let k = 0; k < 20_000; k++) expect(t.append(idOf(fresh, k))).toBe(k);
    expect(t.size).toBe(7 * 3000 + 3 + 20_000);
    for (const [p, ids] of packs.entries())
      for (let k = 0; k < 3000; k++) expect(t.candidate(idOf(ids, k))).toEqual({ pack: p, entry: k });
    expect(t.candidate(idOf(repeat, 0))).toEqual({ pack: 2, entry: 5 });
    expect(t.candidate(idOf(repeat, 0), 1)).toEqual({ pack: 7, entry: 0 });
    expect(t.candidate(idOf(repeat, 0), 2)).toBeNull();
    expect(t.candidate(idOf(repeat, 1))).toEqual({ pack: 0, entry: 9 });
    expect(t.candidate(idOf(repeat, 2))).toEqual({ pack: 7, entry: 2 });
    for (let k = 0; k < 20_000; k++) expect(t.candidate(idOf(fresh, k))).toEqual({ pack: 8, entry: k });
    expect([t.isOpened(7), t.isOpened(8)]).toEqual([false, true]);
    expect(t.candidate(new Uint8Array(randomBytes(16)))).toBeNull();
  });

  it("offers every place whose key matches in a stored pack, and only exact ids in a pack opened here", () => {
    const t = new DedupTable();
    const a = new Uint8Array(16).fill(1);
    const b = a.slice();
    b[15] = 2; // same key (first 8 bytes), another id
    const c = a.slice();
    c[3] = 9; // same hashed bytes, another key
    t.addPack(keysOf(a));
    expect(t.candidate(b)).toEqual({ pack: 0, entry: 0 }); // the caller confirms it against the full ids
    expect(t.candidate(c)).toBeNull();
    expect(() => t.append(b)).toThrow("no open pack");
    t.openPack();
    t.append(b);
    expect(t.candidate(b, 1)).toEqual({ pack: 1, entry: 0 });
    t.append(c);
    const d = c.slice();
    d[15] = 7;
    expect(t.candidate(d)).toBeNull(); // in an opened pack the whole id must match
    expect(t.candidate(c)).toEqual({ pack: 1, entry: 1 });
  });

  it("stays small at scale: under 14 bytes a stored page version", () => {
    // 2 M page versions in 245 packs of 8192 entries (32 MiB of 4 KiB pages each), sized up front as the sink does.
    const perPack = 8192;
    const packs = Array.from({ length: 245 }, () => keysOf(randomIds(perPack)));
    const t = new DedupTable(packs.length * perPack);
    for (const keys of packs) t.addPack(keys);
    const entries = packs.length * perPack;
    expect(t.size).toBe(entries);
    const perEntry = t.byteLength / entries;
    expect(perEntry).toBeLessThan(14);
    // A 5 GiB database with 60 days of history: ~5-6 M page versions within 80 MiB.
    expect(6_000_000 * perEntry).toBeLessThan(80 * 2 ** 20);
    for (let p = 0; p < packs.length; p += 17)
      for (let k = 0; k < perPack; k += 97) {
        const id = new Uint8Array(16);
        id.set(packs[p]!.subarray(k * KEY_BYTES, (k + 1) * KEY_BYTES));
        expect(t.candidate(id)).toEqual({ pack: p, entry: k });
      }
    // Grown rather than sized up front, its slots stay under twice that.
    const grown = new DedupTable();
    for (const keys of packs) grown.addPack(keys);
    expect(grown.size).toBe(entries);
    expect(grown.byteLength / entries).toBeLessThan(KEY_BYTES + 12);
  });
});
