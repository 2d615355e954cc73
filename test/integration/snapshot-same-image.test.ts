/**
 * The raw SHA-256 that waits while an image may be a stored one (consume.ts):
 * a consumer that keeps saying "same image" gets that image's hash without
 * the snapshot being hashed at all; one that stops saying it at any chunk
 * gets the real SHA-256 of every page, the ones before that chunk read again
 * (from the WAL too), with and without the id worker.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IdHasher } from "../../src/lib/backup/id-hasher.ts";
import { CONSUMER_CHUNK_BYTES, consumePageSnapshot, type PageConsumer } from "../../src/lib/snapshot/index.ts";
import { makeDatabase } from "../helpers/db.ts";

const STORED = "5".repeat(64);
const PAGE = 4096;

/** Records the SHA-256 of the pages it is given; says "same image" until it has seen page `untilPage`. */
class Recorder implements PageConsumer {
  seen = new Bun.CryptoHasher("sha256");
  private lastPage = 0;
  private ids: IdHasher | null = null;
  /** With the worker: the id worker hashes (as a pages backup's sink has it); without: consume.ts hashes here. */
  hasher?: () => IdHasher;
  constructor(
    private readonly untilPage: number,
    worker: boolean,
  ) {
    if (worker)
      this.hasher = () => {
        this.ids = new IdHasher(randomBytes(32), PAGE);
        return this.ids;
      };
  }
  begin() {
    this.seen = new Bun.CryptoHasher("sha256");
    this.lastPage = 0;
  }
  async pages(buf: Uint8Array, firstPage: number, pageSize: number) {
    const part = this.ids?.idsOf(buf);
    if (part) await part.ids;
    this.ids?.mainDone();
    this.seen.update(buf);
    this.lastPage = firstPage + buf.length / pageSize - 1;
  }
  discard() {}
  sameImage() {
    return this.lastPage >= this.untilPage ? null : STORED;
  }
}

// One database for the whole file (tempDir's folders go after each test): about 4.5 chunks
// of pages, the last changes held in the WAL by a connection that stays open.
const dir = mkdtempSync(join(tmpdir(), "sqlbak-same-image-"));
const source = join(dir, "big.db");
makeDatabase(source, { rows: 4_200, payloadBytes: 4_000 });
const holder = new Database(source);
holder.run("PRAGMA wal_autocheckpoint = 0");
holder.run("UPDATE items SET payload = randomblob(4000) WHERE id % 20 = 0");
afterAll(() => {
  holder.close();
  rmSync(dir, { recursive: true, force: true });
});
const pageCount = (holder.query("PRAGMA page_count").get() as { page_count: number }).page_count;
const perChunk = CONSUMER_CHUNK_BYTES / PAGE;

describe("the raw SHA-256 of an image that may be a stored one", () => {
  it("spans several chunks and holds pages in the WAL", () => {
    expect(pageCount).toBeGreaterThan(4 * perChunk);
    expect(Bun.file(`${source}-wal`).size).toBeGreaterThan(100 * PAGE);
  });

  for (const worker of [false, true]) {
    const how = worker ? "on the id worker" : "on this thread";
    it(`is the stored image's, unhashed, while every page is the same (${how})`, async () => {
      const r = new Recorder(Number.POSITIVE_INFINITY, worker);
      const snap = await consumePageSnapshot(source, r, { check: "none" });
      expect(snap.rawSha256).toBe(STORED);
      expect(snap.rawSize).toBe(pageCount * PAGE);
    });

    const stops = { "before the first page": 0, "in the first chunk": 3, "in a middle chunk": 2 * perChunk + 5 };
    for (const [where, untilPage] of [...Object.entries(stops), ["in the last chunk", -1] as const]) {
      it(`is the real SHA-256 of every page when a page differs ${where} (${how})`, async () => {
        const r = new Recorder(untilPage === -1 ? pageCount : untilPage, worker);
        const snap = await consumePageSnapshot(source, r, { check: "none" });
        expect(snap.rawSha256).not.toBe(STORED);
        expect(snap.rawSha256).toBe(r.seen.digest("hex"));
      });
    }
  }
});
