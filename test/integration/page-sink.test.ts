import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import type { KnownPack } from "../../src/lib/backup/known-packs.ts";
import { PageSink } from "../../src/lib/backup/page-sink.ts";
import { MAX_PACKS } from "../../src/lib/model/manifest.ts";
import {
  entryOf,
  NEW_PACKS_PER_IMAGE,
  PACK_TARGET_RAW_BYTES,
  packTargetRawBytes,
  pageId,
  pagesPerFrame,
} from "../../src/lib/pages/index.ts";
import { keyFingerprint } from "../../src/lib/pages/page-id.ts";
import { tempDir } from "../helpers/tmp.ts";

const KEY = randomBytes(32);
const PAGE = 4096;

const pageOf = (n: number) => new Uint8Array(PAGE).fill(n);

/** A stored pack holding exactly `page`, as loadKnownPacks returns it (the sink only looks up its index). */
function knownWith(page: Uint8Array, i: number): KnownPack {
  return {
    stored: {
      name: `pack-20261203T142301241Z-${i.toString(16).padStart(16, "0")}.zst`,
      size: 100,
      sha256: "0".repeat(64),
    },
    index: {
      pageSize: PAGE,
      pagesPerFrame: pagesPerFrame(PAGE),
      keyFingerprint: keyFingerprint(KEY),
      ids: pageId(KEY, page),
      frameOffsets: [0],
    },
  };
}

describe("page sink: the manifest's pack list stays bounded", () => {
  it("references at most maxOldPacks stored packs; a page found only in another one is stored again", async () => {
    const pages = [1, 2, 3, 4].map(pageOf);
    const known = pages.map(knownWith);
    const sink = new PageSink(known, { folder: tempDir(), idKey: KEY, level: 1, maxOldPacks: 2 });
    await sink.begin({ pageSize: PAGE, pageCount: 5, startCheck: () => {} });
    const image = new Uint8Array(5 * PAGE);
    // Pages 1-4 are in four stored packs; page 5 repeats page 1 (its pack is referenced already).
    [...pages, pages[0]!].forEach((p, i) => {
      image.set(p, i * PAGE);
    });
    await sink.pages(image, 1, PAGE);
    const { packs, map } = await sink.finish();
    expect(packs.map((p) => p.name)).toEqual([known[0]!.stored.name, known[1]!.stored.name, expect.any(String)]);
    expect(packs[2]!.new).toBe(true);
    expect(packs.filter((p) => !p.new)).toHaveLength(2);
    expect(map.pageCount).toBe(5);
  });

  it("by default leaves room for a first backup's new packs under MAX_PACKS", async () => {
    const known = [knownWith(pageOf(9), 0)];
    const sink = new PageSink(known, { folder: tempDir(), idKey: KEY, level: 1 });
    await sink.begin({ pageSize: PAGE, pageCount: 1, startCheck: () => {} });
    await sink.pages(pageOf(9), 1, PAGE);
    expect((await sink.finish()).packs.map((p) => p.name)).toEqual([known[0]!.stored.name]);
    expect(MAX_PACKS - NEW_PACKS_PER_IMAGE).toBeGreaterThan(NEW_PACKS_PER_IMAGE * 10);
  });

  it("closes packs at 32 MiB of raw pages, or at 1/1024th of an image over 32 GiB, in whole MiB", () => {
    expect(packTargetRawBytes(0)).toBe(PACK_TARGET_RAW_BYTES);
    expect(packTargetRawBytes(32 * 2 ** 30)).toBe(PACK_TARGET_RAW_BYTES);
    expect(packTargetRawBytes(60 * 2 ** 30)).toBe(60 * 2 ** 20);
    expect(packTargetRawBytes(2 ** 40 + 1)).toBe(2 ** 30 + 2 ** 20);
    for (const image of [1, 33, 500, 4096].map((g) => g * 2 ** 30))
      expect(Math.ceil(image / packTargetRawBytes(image))).toBeLessThanOrEqual(NEW_PACKS_PER_IMAGE);
  });
});

describe("page sink: small stored packs fold into the new ones", () => {
  /** Eight more small stored packs, of pages the images below do not hold: past the few that stay as they are. */
  const filler = () => Array.from({ length: 8 }, (_, i) => knownWith(pageOf(100 + i), 10 + i));
  const sinkOver = async (known: KnownPack[], pages: Uint8Array[]) => {
    const sink = new PageSink(known, { folder: tempDir(), idKey: KEY, level: 1 });
    await sink.begin({ pageSize: PAGE, pageCount: pages.length, startCheck: () => {} });
    const image = new Uint8Array(pages.length * PAGE);
    pages.forEach((p, i) => {
      image.set(p, i * PAGE);
    });
    await sink.pages(image, 1, PAGE);
    return sink.finish();
  };

  it("stores a small pack's pages again once the image holds a page found nowhere", async () => {
    const known = [...[pageOf(1), pageOf(2)].map(knownWith), ...filler()];
    const { packs, map } = await sinkOver(known, [pageOf(7), pageOf(1), pageOf(2)]);
    expect(packs).toHaveLength(1);
    expect(packs[0]!.new).toBe(true);
    expect(map.finish().runs).toEqual([{ firstPage: 1, count: 3, pack: 0, firstEntry: 0, stride: 1 }]);
  });

  it("keeps referencing small packs while no more than eight are stored", async () => {
    const known = [...[pageOf(1), pageOf(2)].map(knownWith), ...filler().slice(2)];
    const { packs } = await sinkOver(known, [pageOf(7), pageOf(1), pageOf(2)]);
    expect(packs.map((p) => p.name)).toEqual([expect.any(String), known[0]!.stored.name, known[1]!.stored.name]);
  });

  it("stores nothing for an image whose every page is stored already", async () => {
    const known = [...[pageOf(1), pageOf(2)].map(knownWith), ...filler()];
    const { packs, newBytes } = await sinkOver(known, [pageOf(1), pageOf(2)]);
    expect(packs.map((p) => p.name)).toEqual(known.slice(0, 2).map((k) => k.stored.name));
    expect(newBytes).toBe(0);
  });

  it("stores a page repeated in the image once, where it moved", async () => {
    const known = [knownWith(pageOf(1), 0), ...filler()];
    const { packs, map } = await sinkOver(known, [pageOf(7), pageOf(1), pageOf(1), pageOf(1)]);
    expect(packs).toHaveLength(1);
    const m = map.finish();
    expect([1, 2, 3, 4].map((page) => entryOf(m, page))).toEqual([0, 1, 1, 1].map((entry) => ({ pack: 0, entry })));
  });

  it("keeps referencing a stored pack that is not small", async () => {
    const big = knownWith(pageOf(1), 0);
    // As many entries as a full pack holds: never stored again.
    const entries = PACK_TARGET_RAW_BYTES / PAGE;
    big.index = { ...big.index, ids: new Uint8Array(entries * 16) };
    big.index.ids.set(pageId(KEY, pageOf(1)), 0);
    const { packs } = await sinkOver([big, ...filler()], [pageOf(7), pageOf(1)]);
    expect(packs.map((p) => p.name)).toEqual([expect.any(String), big.stored.name]);
    expect(packs[1]!.new).toBeUndefined();
  });
});
