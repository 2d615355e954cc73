import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { DedupTable } from "../../src/lib/backup/dedup.ts";

describe("DedupTable", () => {
  it("finds every id added, across growth from its smallest size, and keeps the first place of an id", () => {
    const t = new DedupTable(1);
    const ids = Array.from({ length: 20_000 }, () => new Uint8Array(randomBytes(16)));
    for (const [i, id] of ids.entries()) t.add(id, i % 7, i);
    for (const id of ids) t.add(id, 99, 99); // a second place for the same id is ignored
    expect(t.size).toBe(ids.length);
    for (const [i, id] of ids.entries()) expect(t.get(id)).toEqual({ pack: i % 7, entry: i });
    expect(t.get(new Uint8Array(randomBytes(16)))).toBeNull();
  });

  it("tells apart ids that share the bytes it hashes", () => {
    const t = new DedupTable();
    const a = new Uint8Array(16).fill(1);
    const b = a.slice();
    b[15] = 2;
    t.add(a, 0, 1);
    expect(t.get(b)).toBeNull();
    t.add(b, 0, 2);
    expect([t.get(a), t.get(b)]).toEqual([
      { pack: 0, entry: 1 },
      { pack: 0, entry: 2 },
    ]);
  });
});
