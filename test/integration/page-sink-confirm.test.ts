/**
 * The page sink references a stored page only once its full id matches: a
 * known pack whose ids share a page's first bytes (the table's key) but not
 * the rest, or whose index can no longer be read, costs a lookup, and the
 * page is stored again in a new pack.
 */
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { KEY_BYTES } from "../../src/lib/backup/dedup.ts";
import type { KnownPack } from "../../src/lib/backup/known-packs.ts";
import { PageSink } from "../../src/lib/backup/page-sink.ts";
import { pageId, pagesPerFrame } from "../../src/lib/pages/index.ts";
import { tempDir } from "../helpers/tmp.ts";

const PAGE = 4096;
const key = new Uint8Array(randomBytes(32));

function knownPack(ids: Uint8Array, readIds: () => Promise<Uint8Array | null>): KnownPack {
  const n = ids.length / 16;
  const prefixes = new Uint8Array(n * KEY_BYTES);
  for (let k = 0; k < n; k++) prefixes.set(ids.subarray(k * 16, k * 16 + KEY_BYTES), k * KEY_BYTES);
  return {
    stored: { name: `pack-${"0".repeat(16)}-${"1".repeat(16)}.zst`, size: 1, sha256: "0".repeat(64) },
    pageSize: PAGE,
    pagesPerFrame: pagesPerFrame(PAGE),
    prefixes,
    readIds,
  };
}

async function backUp(known: KnownPack[], pages: Uint8Array) {
  const folder = tempDir();
  const sink = new PageSink(known, { folder, idKey: key, level: 1 });
  sink.begin({ pageSize: PAGE, pageCount: pages.length / PAGE, startCheck: () => {} });
  await sink.pages(pages, 1, PAGE);
  const r = await sink.finish();
  return { ...r, files: readdirSync(folder) };
}

describe("page sink confirmation", () => {
  const pages = new Uint8Array(randomBytes(2 * PAGE));
  const ids = new Uint8Array([...pageId(key, pages.subarray(0, PAGE)), ...pageId(key, pages.subarray(PAGE))]);

  it("references pages whose full ids a known pack holds, reading them once", async () => {
    let reads = 0;
    const pack = knownPack(ids, async () => {
      reads++;
      return ids;
    });
    const r = await backUp([pack], pages);
    expect(r.packs).toEqual([pack.stored]);
    expect(r.map.runs).toEqual([{ firstPage: 1, count: 2, pack: 0, firstEntry: 0, stride: 1 }]);
    expect(r.newBytes).toBe(0);
    expect(reads).toBe(1);
  });

  it("stores a page again when only its key matches, or when the index no longer reads", async () => {
    const other = ids.slice();
    other[31] = other[31]! ^ 1; // page 2: same first 8 bytes, another id
    for (const readIds of [async () => other, async () => null]) {
      const r = await backUp([knownPack(ids, readIds)], pages);
      const fresh = r.packs.filter((p) => p.new);
      expect(fresh.length).toBe(1);
      expect(r.files).toContain(fresh[0]!.name);
      if ((await readIds()) === null) {
        expect(r.packs).toEqual(fresh); // nothing referenced from the unreadable pack
        expect(r.map.runs).toEqual([{ firstPage: 1, count: 2, pack: 0, firstEntry: 0, stride: 1 }]);
      } else {
        expect(r.map.runs).toEqual([
          { firstPage: 1, count: 1, pack: 0, firstEntry: 0, stride: 1 },
          { firstPage: 2, count: 1, pack: 1, firstEntry: 0, stride: 1 },
        ]);
        expect(r.packs[1]).toEqual(fresh[0]);
      }
    }
  });
});
