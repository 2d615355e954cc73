/**
 * OrderedImageHash: the SHA-256 of an image written page by page in any
 * order equals that of the finished file; pages written in order are hashed
 * from the writes, only those written ahead are read back.
 */
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { OrderedImageHash } from "../../src/lib/verify/image-hash.ts";
import { tempDir } from "../helpers/tmp.ts";

const PAGE = 512;
const COUNT = 40;
const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

/** Writes `writes` (first page, page count) of random pages to a file, each hashed as it is written. */
function writeImage(writes: [number, number][], pageCount = COUNT, pages = randomBytes(pageCount * PAGE)) {
  const path = join(tempDir(), "image");
  const fd = openSync(path, "w+");
  try {
    ftruncateSync(fd, pageCount * PAGE);
    const hash = new OrderedImageHash(fd, PAGE, pageCount);
    for (const [first, n] of writes) {
      const data = pages.subarray((first - 1) * PAGE, (first - 1 + n) * PAGE);
      writeSync(fd, data, 0, data.length, (first - 1) * PAGE);
      hash.wrote(first, data);
    }
    return { digest: hash.digest(), readBack: hash.readBack, file: readFileSync(path) };
  } finally {
    closeSync(fd);
  }
}

const single = (pages: number[]): [number, number][] => pages.map((p) => [p, 1]);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe("OrderedImageHash", () => {
  it("hashes pages written in page order from the writes alone", () => {
    const r = writeImage([
      [1, 5],
      [6, 1],
      [7, 34],
    ]);
    expect(r.digest).toBe(sha256(r.file));
    expect(r.readBack).toBe(0);
  });

  it.each([
    ["in reverse", single(range(1, COUNT).reverse()), (COUNT - 1) * PAGE],
    ["with page 1 last", [...single(range(2, COUNT)), [1, 1] as [number, number]], (COUNT - 1) * PAGE],
    [
      "interleaved (a new pack's pages first, then the old pack's around them)",
      [...single([1, 9, 10, 30]), ...single(range(2, 8)), [11, 19] as [number, number], ...single(range(31, COUNT))],
      3 * PAGE,
    ],
  ])("equals the file's SHA-256 when pages arrive %s, reading back only those written ahead", (_o, writes, back) => {
    const r = writeImage(writes);
    expect(r.digest).toBe(sha256(r.file));
    expect(r.readBack).toBe(back);
  });

  it("hashes one page repeated at many places (a stride-0 run)", () => {
    const zero = new Uint8Array(COUNT * PAGE);
    const r = writeImage(single(range(1, COUNT).reverse()), COUNT, Buffer.from(zero));
    expect(r.digest).toBe(sha256(zero));
  });

  it("gives no digest when a page was never written", () => {
    expect(writeImage(single(range(1, COUNT).filter((p) => p !== 17))).digest).toBeNull();
    expect(writeImage(single(range(1, COUNT - 1))).digest).toBeNull();
  });
});
