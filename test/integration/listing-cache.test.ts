/**
 * The listing cache (src/lib/store/listing-cache.ts) over a `dir` destination, whose
 * validator is the modification time: a listing the cache has seen reads no manifest
 * again; a manifest rewritten (new time) or new is read; one that does not parse is
 * read and reported every time and holds the pieces; a cache of another location
 * under the same name is not used.
 */
import { describe, expect, it } from "bun:test";
import { cpSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../../src/lib/store/backend.ts";
import { listBackups } from "../../src/lib/store/list.ts";
import { openListingCache } from "../../src/lib/store/listing-cache.ts";
import { openLocalFolder } from "../../src/lib/store/local-folder.ts";
import { pagesScenario } from "../helpers/pages.ts";

/** A dir destination holding a copy of the scenario's folder, and the names of every text it reads. */
function setup() {
  const s = pagesScenario();
  const nasRoot = join(s.dir, "nas");
  mkdirSync(nasRoot);
  cpSync(s.folder, join(nasRoot, "app"), { recursive: true });
  const reads: string[] = [];
  const inner = openLocalFolder(nasRoot, "destination");
  const nas: Backend = {
    ...inner,
    describe: inner.describe,
    checkSizes: inner.checkSizes,
    readText: (key) => {
      reads.push(key.split("/")[1]!);
      return inner.readText(key);
    },
  };
  const list = async (location = nas.describe) => {
    reads.length = 0;
    const cache = openListingCache(join(s.dir, "backups"), "nas", location, "app");
    const l = await listBackups(nas, "app", new Date(), { cache });
    cache.save();
    return { l, reads: [...reads].sort() };
  };
  return { ...s, nas: join(nasRoot, "app"), list };
}

describe("the listing cache at a dir destination", () => {
  it("reads each manifest once, then only a rewritten or new one", async () => {
    const s = setup();
    const first = await s.list();
    expect(first.reads).toEqual([s.kept.manifest, s.old.manifest].sort());
    const again = await s.list();
    expect(again.reads).toEqual([]);
    expect(again.l.backups.map((b) => b.manifest.id)).toEqual(first.l.backups.map((b) => b.manifest.id));
    expect(again.l.pieces).toEqual(first.l.pieces);

    const path = join(s.nas, s.old.manifest);
    writeFileSync(path, readFileSync(path));
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect((await s.list()).reads).toEqual([s.old.manifest]);
    expect((await s.list()).reads).toEqual([]);
    // The same bucket or path under the same destination name is another folder: its cache is not used.
    expect((await s.list("dir:/elsewhere")).reads).toEqual([s.kept.manifest, s.old.manifest].sort());
  });

  it("a manifest that does not parse is read and reported by every listing, and holds the pieces", async () => {
    const s = setup();
    await s.list();
    writeFileSync(join(s.nas, s.old.manifest), "{ not json");
    for (let run = 0; run < 2; run++) {
      const { l, reads } = await s.list();
      expect(reads).toEqual([s.old.manifest]);
      expect(l.problems.map((p) => p.id)).toEqual([s.old.id]);
      expect(l.pieces.unreferenced).toEqual([]);
      expect(l.pieces.protected.map((p) => p.name)).toEqual(expect.arrayContaining(s.toFree));
    }
  });
});
