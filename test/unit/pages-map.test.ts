import { describe, expect, it } from "bun:test";
import {
  decodeMap,
  encodeMap,
  entryOf,
  MapBuilder,
  PageFormatError,
  type PageMap,
  validateMapPacks,
} from "../../src/lib/pages/index.ts";

const MAP: PageMap = {
  pageSize: 4096,
  pageCount: 10,
  runs: [
    { firstPage: 1, count: 4, pack: 0, firstEntry: 100, stride: 1 },
    { firstPage: 5, count: 3, pack: 1, firstEntry: 7, stride: 0 },
    { firstPage: 8, count: 3, pack: 0, firstEntry: 0, stride: 1 },
  ],
};

/** A copy of `bytes` with the u32 at `offset` replaced. */
function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(offset, value, true);
  return out;
}

/** Offset of field `field` (0 first_page … 4 stride) of run `run`. */
const runField = (run: number, field: number) => 24 + run * 20 + field * 4;

describe("page map bytes", () => {
  it("round-trips, with the header and runs little-endian as docs/format.md gives them", () => {
    const bytes = encodeMap(MAP);
    expect(bytes.length).toBe(24 + 3 * 20);
    expect(Buffer.from(bytes.subarray(0, 8)).toString("latin1")).toBe("SQLBKMAP");
    const v = new DataView(bytes.buffer);
    expect([v.getUint32(8, true), v.getUint32(12, true), v.getUint32(16, true), v.getUint32(20, true)]).toEqual([
      1, 4096, 10, 3,
    ]);
    expect(v.getUint32(runField(1, 3), true)).toBe(7);
    expect(v.getUint32(runField(1, 4), true)).toBe(0);
    expect(decodeMap(bytes)).toEqual(MAP);
  });

  it("round-trips an empty database (no pages, no runs)", () => {
    const empty = { pageSize: 512, pageCount: 0, runs: [] };
    expect(decodeMap(encodeMap(empty))).toEqual(empty);
  });

  const good = encodeMap(MAP);
  it.each([
    [
      "another file",
      Buffer.from("SQLite format 3\0 and more bytes than a header"),
      'not a SQLBKMAP file (magic "SQLite f")',
    ],
    ["a newer version", withU32(good, 8, 2), "format version 2 is not one this sqlbak reads (1)"],
    [
      "a page size SQLite never uses",
      withU32(good, 12, 3000),
      "page size 3000 is not a power of two from 512 to 65536",
    ],
    ["a truncated header", good.subarray(0, 14), "truncated: a u32 needs 4 bytes at offset 12, 2 left"],
    ["a truncated run", good.subarray(0, good.length - 3), "3 runs need 84 bytes, the map has 81"],
    ["trailing bytes", Buffer.concat([good, Buffer.alloc(20)]), "3 runs need 84 bytes, the map has 104"],
    [
      "a run count past the bytes",
      withU32(good, 20, 0xffffffff),
      "4294967295 runs need 85899345924 bytes, the map has 84",
    ],
    ["a gap between runs", withU32(good, runField(1, 0), 6), "run 1 starts at page 6, expected 5"],
    ["overlapping runs", withU32(good, runField(1, 0), 4), "run 1 starts at page 4, expected 5"],
    ["runs not from page 1", withU32(good, runField(0, 0), 0), "run 0 starts at page 0, expected 1"],
    ["an empty run", withU32(withU32(good, runField(0, 1), 0), runField(1, 0), 1), "run 0 is empty"],
    ["a stride other than 0 or 1", withU32(good, runField(2, 4), 2), "run 2 has stride 2 (only 0 and 1 exist)"],
    ["runs short of the page count", withU32(good, 16, 11), "runs cover pages 1..10, the map has 11 pages"],
    ["runs past the page count", withU32(good, 16, 9), "runs cover pages 1..10, the map has 9 pages"],
  ])("refuses %s, naming the file and the problem", (_what, bytes, problem) => {
    expect(() => decodeMap(bytes, "app-x.map.zst")).toThrow(new PageFormatError(`app-x.map.zst: ${problem}`));
  });

  it("refuses to encode runs that do not cover the pages exactly once", () => {
    expect(() => encodeMap({ ...MAP, pageCount: 11 })).toThrow(
      "page map: runs cover pages 1..10, the map has 11 pages",
    );
    expect(() => encodeMap({ ...MAP, runs: MAP.runs.slice(1) })).toThrow(
      "page map: run 0 starts at page 5, expected 1",
    );
    expect(() => encodeMap({ ...MAP, runs: [{ ...MAP.runs[0]!, pack: -1 }] })).toThrow("pack -1 is not a u32");
  });
});

describe("validateMapPacks", () => {
  it("accepts runs within their packs' entries", () => {
    expect(() => validateMapPacks(MAP, [104, 8])).not.toThrow();
  });

  it.each([
    [[104], "m: run 1 names pack 1, the backup lists 1 packs"],
    [[103, 8], "m: run 0 needs entry 103 of pack 0, which has 103 entries"],
    [[104, 7], "m: run 1 needs entry 7 of pack 1, which has 7 entries"],
  ])("refuses a run past its pack (entry counts %j)", (counts, message) => {
    expect(() => validateMapPacks(MAP, counts, "m")).toThrow(new PageFormatError(message));
  });
});

describe("entryOf", () => {
  it("finds the entry of every page, and nothing outside the map", () => {
    const got = Array.from({ length: 10 }, (_, i) => entryOf(MAP, i + 1));
    expect(got).toEqual([
      { pack: 0, entry: 100 },
      { pack: 0, entry: 101 },
      { pack: 0, entry: 102 },
      { pack: 0, entry: 103 },
      { pack: 1, entry: 7 },
      { pack: 1, entry: 7 },
      { pack: 1, entry: 7 },
      { pack: 0, entry: 0 },
      { pack: 0, entry: 1 },
      { pack: 0, entry: 2 },
    ]);
    expect(entryOf(MAP, 0)).toBeNull();
    expect(entryOf(MAP, 11)).toBeNull();
  });
});

describe("MapBuilder", () => {
  function build(entries: [number, number][], pageSize = 4096): PageMap {
    const b = new MapBuilder(pageSize);
    for (const [i, [pack, entry]] of entries.entries()) b.add(i + 1, pack, entry);
    return b.finish();
  }

  it("maps an unchanged database stored in one pack, in order, to one run", () => {
    const map = build(Array.from({ length: 5000 }, (_, i): [number, number] => [0, i]));
    expect(map).toEqual({
      pageSize: 4096,
      pageCount: 5000,
      runs: [{ firstPage: 1, count: 5000, pack: 0, firstEntry: 0, stride: 1 }],
    });
  });

  it("maps a repeated entry (zeroed free pages) to one stride-0 run", () => {
    expect(
      build([
        [2, 9],
        [2, 9],
        [2, 9],
        [2, 9],
      ]).runs,
    ).toEqual([{ firstPage: 1, count: 4, pack: 2, firstEntry: 9, stride: 0 }]);
  });

  it("starts a new run where the pack changes, an entry jumps, or a stride breaks", () => {
    const map = build([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 3], // another pack
      [1, 4],
      [1, 4], // stride 1 broken by a repeat
      [1, 4],
      [1, 5], // stride 0 broken by a step
      [1, 9], // a jump
      [0, 3],
    ]);
    expect(map.runs).toEqual([
      { firstPage: 1, count: 3, pack: 0, firstEntry: 0, stride: 1 },
      { firstPage: 4, count: 2, pack: 1, firstEntry: 3, stride: 1 },
      { firstPage: 6, count: 2, pack: 1, firstEntry: 4, stride: 0 },
      { firstPage: 8, count: 1, pack: 1, firstEntry: 5, stride: 1 },
      { firstPage: 9, count: 1, pack: 1, firstEntry: 9, stride: 1 },
      { firstPage: 10, count: 1, pack: 0, firstEntry: 3, stride: 1 },
    ]);
    expect(decodeMap(encodeMap(map))).toEqual(map);
    for (let p = 1; p <= 10; p++) expect(entryOf(map, p)).not.toBeNull();
  });

  it("keeps the pages of a database whose pages come back in another order exactly", () => {
    // pages 1..6 stored in entries 5,4,3,2,1,0 (descending): one run per page, each entry right
    const entries: [number, number][] = [5, 4, 3, 2, 1, 0].map((e) => [0, e]);
    const map = build(entries);
    expect(map.runs).toHaveLength(6);
    expect(map.runs.map((_, i) => entryOf(map, i + 1)!.entry)).toEqual([5, 4, 3, 2, 1, 0]);
  });

  it("refuses pages out of order", () => {
    const b = new MapBuilder(4096);
    b.add(1, 0, 0);
    expect(() => b.add(3, 0, 1)).toThrow("page map: got page 3, expected 2");
    expect(() => new MapBuilder(1000)).toThrow("page size 1000 is not a SQLite page size");
  });

  it("encodes straight from its columns the bytes encodeMap gives for its runs, which decode back", () => {
    // Seeded mix of runs: consecutive entries, repeated ones, jumps between packs.
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const b = new MapBuilder(4096);
    let pack = 0;
    let entry = 0;
    for (let page = 1; page <= 20_000; page++) {
      const roll = rand();
      if (roll < 0.2) pack = Math.floor(rand() * 5);
      if (roll < 0.3) entry = Math.floor(rand() * 1000);
      else if (roll >= 0.45) entry++; // else the same entry again: a stride-0 run
      b.add(page, pack, entry);
    }
    const map = b.finish();
    expect(map.runs.length).toBeGreaterThan(3000);
    expect(map.runs.some((r) => r.stride === 0 && r.count > 1)).toBe(true);
    const bytes = b.encode();
    expect(Buffer.from(bytes).equals(Buffer.from(encodeMap(map)))).toBe(true);
    expect(decodeMap(bytes)).toEqual(map);
  });

  it("holds a run in 20 bytes and one block at most besides, whatever the number of runs", () => {
    const b = new MapBuilder(4096);
    const runs = 1_000_000;
    for (let page = 1; page <= runs; page++) b.add(page, page % 2, 0); // each page its own run
    expect(b.finish().runs).toHaveLength(runs);
    expect(b.byteLength).toBeGreaterThanOrEqual(20 * runs);
    expect(b.byteLength).toBeLessThanOrEqual(20 * runs + 20 * 16 * 1024);
  });
});
