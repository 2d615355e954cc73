/** The one rule for reading a backup folder (local or at a destination): problems, partials and what is left alone. */
import { describe, expect, it } from "bun:test";
import { classifyFolder, type ManifestText } from "../../src/lib/store/listing.ts";

const ID = "app-20260101T000000000Z-0123abcd";
const OTHER = "app-20260102T000000000Z-4567cdef";

function classify(entries: { name: string; size?: number }[], texts: Record<string, ManifestText>, checkSize = false) {
  return classifyFolder(entries, new Map(Object.entries(texts)), {
    database: "app",
    pathOf: (n) => `/f/${n}`,
    checkSize,
  });
}

describe("classifyFolder", () => {
  it("a data file whose manifest does not parse is a problem named by id, never a partial", () => {
    const c = classify([{ name: `${ID}.json` }, { name: `${ID}.sqlite.zst` }], { [`${ID}.json`]: "{ not json" });
    expect(c.backups).toEqual([]);
    expect(c.partials).toEqual([]);
    expect(c.problems).toEqual([{ id: ID, path: `/f/${ID}.json`, reason: expect.any(String) }]);
  });

  it("a manifest that could not be read (an error) keeps its data the same way, encrypted data included", () => {
    const c = classify([{ name: `${ID}.json` }, { name: `${ID}.sqlite.gz.age` }], {
      [`${ID}.json`]: new Error("permission denied"),
    });
    expect(c.partials).toEqual([]);
    expect(c.problems).toEqual([{ id: ID, path: `/f/${ID}.json`, reason: "permission denied" }]);
  });

  it("data without any manifest and hidden temporaries are partials; the lock and foreign files are ignored", () => {
    const names = [
      `${OTHER}.sqlite.zst`,
      `.${OTHER}.sqlite.zst.1a2b3c4d.tmp`,
      ".x.tmp-journal",
      ".sqlbak-lock",
      ".sqlbak-lock.json",
      "notes.txt",
      ".DS_Store",
    ];
    const c = classify(
      names.map((name) => ({ name })),
      {},
    );
    expect(c.partials.map((e) => e.name).sort()).toEqual(
      [`.${OTHER}.sqlite.zst.1a2b3c4d.tmp`, ".x.tmp-journal", `${OTHER}.sqlite.zst`].sort(),
    );
    expect(c.problems).toEqual([]);
  });

  it(`a manifest that vanished between listing and reading \
is neither a problem nor leaves its data as a partial`, () => {
    const c = classify([{ name: `${ID}.json` }, { name: `${ID}.sqlite.zst` }], { [`${ID}.json`]: null });
    expect([c.backups, c.partials, c.problems]).toEqual([[], [], []]);
  });
});
