import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { DedupTable } from "../../src/lib/backup/dedup.ts";

const randomIds = (n: number) => new Uint8Array(randomBytes(n * 16));
const idOf = (ids: Uint8Array, k: number) => ids.subarray(k * 16, (k + 1) * 16);

describe("DedupTable", () => {
  it("finds a page stored again with `move` in its new place, also after the table grows", () => {
    const t = new DedupTable();
    const old = randomIds(10);
    t.addPack(old);
    t.openPack();
    expect(t.append(idOf(old, 3), true)).toBe(0);
    expect(t.get(idOf(old, 3))).toEqual({ pack: 1, entry: 0 });
    expect(t.get(idOf(old, 4))).toEqual({ pack: 0, entry: 4 });
    // Growing rehashes every entry: the moved one stays where it moved.
    const more = randomIds(5000);
    for (let k = 0; k < 5000; k++) t.append(idOf(more, k));
    expect(t.get(idOf(old, 3))).toEqual({ pack: 1, entry: 0 });
    expect(t.get(idOf(more, 4999))).toEqual({ pack: 1, entry: 5000 });
  });

  it("finds every id added, across growth from its smallest size, and keeps the first place of an id", () => {
    const t = new DedupTable();
    const packs = Array.from({ length: 7 }, () => randomIds(3000));
    for (const [p, ids] of packs.entries()) expect(t.addPack(ids)).toBe(p);
    // A later pack repeating ids of earlier ones: they keep their first place.
    const repeat = new Uint8Array([...idOf(packs[2]!, 5), ...idOf(packs[0]!, 9), ...randomIds(1)]);
    expect(t.addPack(repeat)).toBe(7);
    // A pack written now: appended ids, one of them known already.
    expect(t.openPack()).toBe(8);
    const fresh = randomIds(20_000);
    for (let k = 0; k < 20_000; k++) expect(t.append(idOf(fresh, k))).toBe(k);
    expect(t.append(idOf(packs[6]!, 0))).toBe(20_000);
    expect(t.size).toBe(7 * 3000 + 1 + 20_000);
    for (const [p, ids] of packs.entries())
      for (let k = 0; k < 3000; k++) expect(t.get(idOf(ids, k))).toEqual({ pack: p, entry: k });
    expect(t.get(idOf(repeat, 0))).toEqual({ pack: 2, entry: 5 });
    expect(t.get(idOf(repeat, 1))).toEqual({ pack: 0, entry: 9 });
    expect(t.get(idOf(repeat, 2))).toEqual({ pack: 7, entry: 2 });
    for (let k = 0; k < 20_000; k++) expect(t.get(idOf(fresh, k))).toEqual({ pack: 8, entry: k });
    expect(t.get(idOf(packs[6]!, 0))).toEqual({ pack: 6, entry: 0 });
    expect(t.get(new Uint8Array(randomBytes(16)))).toBeNull();
  });

  it("tells apart ids that share the bytes it hashes, and refuses to append without an open pack", () => {
    const t = new DedupTable();
    const a = new Uint8Array(16).fill(1);
    const b = a.slice();
    b[15] = 2;
    t.addPack(a);
    expect(t.get(b)).toBeNull();
    expect(() => t.append(b)).toThrow("no open pack");
    t.openPack();
    t.append(b);
    expect([t.get(a), t.get(b)]).toEqual([
      { pack: 0, entry: 0 },
      { pack: 1, entry: 0 },
    ]);
  });

  it("stays small at scale: under 6 bytes an entry besides the packs' own ids", () => {
    // 2 M page versions in 245 packs of 8192 entries (32 MiB of 4 KiB pages each), sized up front as the sink does.
    const perPack = 8192;
    const packs = Array.from({ length: 245 }, () => randomIds(perPack));
    const t = new DedupTable(packs.length * perPack);
    for (const ids of packs) t.addPack(ids);
    const entries = packs.length * perPack;
    expect(t.size).toBe(entries);
    const perEntry = t.byteLength / entries;
    expect(perEntry).toBeLessThan(6);
    // A 5 GiB database with 60 days of history: ~5 M page versions, ids and table within 128 MiB.
    expect(5_000_000 * (16 + perEntry)).toBeLessThan(128 * 2 ** 20);
    for (let p = 0; p < packs.length; p += 17)
      for (let k = 0; k < perPack; k += 97) expect(t.get(idOf(packs[p]!, k))).toEqual({ pack: p, entry: k });
    // Grown rather than sized up front, it stays under twice that.
    const grown = new DedupTable();
    for (const ids of packs) grown.addPack(ids);
    expect(grown.size).toBe(entries);
    expect(grown.byteLength / entries).toBeLessThan(12);
  });
});
