import { describe, expect, it } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import {
  decodePackIndex,
  encodePackIndex,
  entryCountOf,
  idAt,
  keyFingerprint,
  type PackIndex,
  PageFormatError,
  pageId,
  pagesPerFrame,
} from "../../src/lib/pages/index.ts";

const KEY = new Uint8Array(32).map((_, i) => i + 1);

describe("pageId", () => {
  it("is the first 16 bytes of HMAC-SHA256(key, u32le(page size) ‖ page)", () => {
    const page = randomBytes(4096);
    const prefix = Buffer.from([0x00, 0x10, 0x00, 0x00]); // 4096 little-endian
    const expected = createHmac("sha256", KEY).update(prefix).update(page).digest().subarray(0, 16);
    expect(Buffer.from(pageId(KEY, page)).equals(expected)).toBe(true);
  });

  it("stays the HMAC of each page across many pages, keys and page sizes in turn (its keyed state is reused)", () => {
    const other = KEY.map((b) => b ^ 0x5a);
    for (let i = 0; i < 200; i++) {
      const key = i % 7 === 3 ? other : KEY;
      const size = i % 11 === 5 ? 1024 : 4096;
      const page = randomBytes(size);
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE(size);
      const expected = createHmac("sha256", key).update(prefix).update(page).digest().subarray(0, 16);
      expect(Buffer.from(pageId(key, page)).equals(expected)).toBe(true);
    }
  });

  it("depends on the key and on every byte of the page", () => {
    const page = new Uint8Array(1024);
    const id = Buffer.from(pageId(KEY, page)).toString("hex");
    const other = KEY.slice();
    other[31]! ^= 1;
    expect(Buffer.from(pageId(other, page)).toString("hex")).not.toBe(id);
    page[1023] = 1;
    expect(Buffer.from(pageId(KEY, page)).toString("hex")).not.toBe(id);
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => pageId(new Uint8Array(16), new Uint8Array(512))).toThrow("an id key is 32 bytes, got 16");
  });

  it("keyFingerprint is the first 8 bytes of HMAC-SHA256(key, the label)", () => {
    const expected = createHmac("sha256", KEY).update("sqlbak id key fingerprint").digest().subarray(0, 8);
    expect(Buffer.from(keyFingerprint(KEY)).equals(expected)).toBe(true);
  });
});

describe("pagesPerFrame", () => {
  it("puts 1 MiB of raw pages in a frame", () => {
    expect([512, 4096, 65536].map(pagesPerFrame)).toEqual([2048, 256, 16]);
  });
});

describe("pack index bytes", () => {
  const ids = randomBytes(5 * 16);
  const INDEX: PackIndex = {
    pageSize: 4096,
    pagesPerFrame: 2,
    keyFingerprint: keyFingerprint(KEY),
    ids: new Uint8Array(ids),
    frameOffsets: [0, 3000, 2 ** 40],
  };

  it("round-trips, laid out as docs/format.md gives it", () => {
    const bytes = encodePackIndex(INDEX);
    expect(bytes.length).toBe(36 + 5 * 16 + 3 * 8);
    expect(Buffer.from(bytes.subarray(0, 8)).toString("latin1")).toBe("SQLBKIDX");
    const v = new DataView(bytes.buffer);
    expect([1, 2, 3, 4, 5].map((i) => v.getUint32(4 + i * 4, true))).toEqual([1, 4096, 2, 5, 3]);
    expect(Buffer.from(bytes.subarray(28, 36)).equals(Buffer.from(INDEX.keyFingerprint))).toBe(true);
    expect(Buffer.from(bytes.subarray(36, 36 + 80)).equals(ids)).toBe(true);
    expect(v.getBigUint64(36 + 80 + 16, true)).toBe(2n ** 40n);
    const back = decodePackIndex(bytes);
    expect(back).toEqual(INDEX);
    expect(entryCountOf(back)).toBe(5);
    expect(Buffer.from(idAt(back, 4)).equals(ids.subarray(64, 80))).toBe(true);
  });

  const good = encodePackIndex(INDEX);
  const withU32 = (offset: number, value: number) => {
    const out = good.slice();
    new DataView(out.buffer).setUint32(offset, value, true);
    return out;
  };
  const withU64 = (offset: number, value: bigint) => {
    const out = good.slice();
    new DataView(out.buffer).setBigUint64(offset, value, true);
    return out;
  };
  const frames = 36 + 80;
  it.each([
    ["a map instead", Buffer.from("SQLBKMAP\x01\0\0\0"), 'not a SQLBKIDX file (magic "SQLBKMAP")'],
    ["a newer version", withU32(8, 7), "format version 7 is not one this sqlbak reads (1)"],
    ["a page size SQLite never uses", withU32(12, 4095), "page size 4095 is not a power of two from 512 to 65536"],
    [
      "a truncated index",
      good.subarray(0, good.length - 1),
      "5 entries and 3 frames need 140 bytes, the index has 139",
    ],
    [
      "trailing bytes",
      Buffer.concat([good, Buffer.alloc(1)]),
      "5 entries and 3 frames need 140 bytes, the index has 141",
    ],
    ["an entry count past the bytes", withU32(20, 6), "6 entries and 3 frames need 156 bytes, the index has 140"],
    ["zero pages per frame", withU32(16, 0), "pages per frame is 0"],
    [
      "a frame count that does not match the entries",
      Buffer.concat([withU32(24, 4), Buffer.alloc(8)]),
      "5 entries at 2 per frame make 3 frames, the index lists 4",
    ],
    ["a first frame not at 0", withU64(frames, 1n), "frame 0 starts at 1, not 0"],
    [
      "frames out of order",
      withU64(frames + 8, 2n ** 41n),
      "frame 2 starts at 1099511627776, not after frame 1 (2199023255552)",
    ],
    ["an offset past 2^53", withU64(frames + 16, 2n ** 60n), "u64 at offset 132 is out of range"],
    ["no entries", encodeEmpty(), "the pack has no entries"],
  ])("refuses %s, naming the file and the problem", (_what, bytes, problem) => {
    expect(() => decodePackIndex(bytes, "pack-x.idx")).toThrow(new PageFormatError(`pack-x.idx: ${problem}`));
  });

  function encodeEmpty(): Uint8Array {
    const out = new Uint8Array(36);
    out.set(Buffer.from("SQLBKIDX"));
    const v = new DataView(out.buffer);
    v.setUint32(8, 1, true);
    v.setUint32(12, 4096, true);
    v.setUint32(16, 256, true);
    return out;
  }

  it("throws PageFormatError, a type callers can tell from their own failures", () => {
    expect(() => decodePackIndex(good.subarray(0, 3))).toThrow(PageFormatError);
  });

  it("refuses to encode an inconsistent index", () => {
    expect(() => encodePackIndex({ ...INDEX, frameOffsets: [0, 1] })).toThrow(
      "pack index: 5 entries at 2 per frame make 3 frames, the index lists 2",
    );
    expect(() => encodePackIndex({ ...INDEX, ids: new Uint8Array(17) })).toThrow(
      "pack index: ids are 17 bytes, not a multiple of 16",
    );
  });
});
