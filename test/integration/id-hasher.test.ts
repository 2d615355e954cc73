/**
 * The page id worker of pages backups: the ids it makes for the last pages of
 * each chunk are exactly pageId's, and the raw SHA-256 it computes is that of
 * every chunk in order, whatever share of the pages it takes.
 */
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { IdHasher } from "../../src/lib/backup/id-hasher.ts";
import { PAGE_ID_BYTES, pageId } from "../../src/lib/pages/index.ts";

function sharedChunk(pages: number, pageSize: number): Uint8Array {
  const chunk = new Uint8Array(new SharedArrayBuffer(pages * pageSize));
  chunk.set(randomBytes(chunk.length));
  return chunk;
}

describe("IdHasher", () => {
  it("makes the ids of each chunk's last pages as pageId does, and the SHA-256 of all chunks", async () => {
    const key = new Uint8Array(randomBytes(32));
    const pageSize = 1024;
    const hasher = new IdHasher(key, pageSize);
    const whole = new Bun.CryptoHasher("sha256");
    let checked = 0;
    try {
      for (let c = 0; c < 40; c++) {
        const pages = 1 + ((c * 37) % 300); // odd sizes, a one-page chunk among them
        const chunk = sharedChunk(pages, pageSize);
        whole.update(chunk);
        const hashed = hasher.update(chunk);
        const part = hasher.idsOf(chunk)!;
        expect(part.from).toBeGreaterThanOrEqual(0);
        expect(part.from).toBeLessThanOrEqual(pages);
        hasher.mainDone();
        const ids = await part.ids;
        expect(ids.length).toBe((pages - part.from) * PAGE_ID_BYTES);
        for (let i = part.from; i < pages; i++) {
          const expected = pageId(key, chunk.subarray(i * pageSize, (i + 1) * pageSize));
          expect(ids.subarray((i - part.from) * PAGE_ID_BYTES, (i - part.from + 1) * PAGE_ID_BYTES)).toEqual(expected);
          checked++;
        }
        await hashed;
        expect(hasher.idsOf(chunk)).toBeNull(); // taken once
      }
      expect(await hasher.digest()).toBe(whole.digest("hex"));
    } finally {
      hasher.close();
    }
    expect(checked).toBeGreaterThan(100); // the worker did make ids
  });

  it("a chunk it was not given has no worker part, and a closed hasher refuses more", async () => {
    const hasher = new IdHasher(new Uint8Array(32), 512);
    expect(hasher.idsOf(sharedChunk(4, 512))).toBeNull();
    hasher.close();
    await expect(hasher.update(sharedChunk(4, 512))).rejects.toThrow("closed");
  });
});
