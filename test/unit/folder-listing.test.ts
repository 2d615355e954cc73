/** The one rule for reading a backup folder (local or at a destination): problems, partials and what is left alone. */
import { describe, expect, it } from "bun:test";
import { idKeyCopyName, LOCAL_ID_KEY_FILE } from "../../src/lib/pages/index.ts";
import { classifyFolder, type ManifestText } from "../../src/lib/store/listing.ts";
import { manifestFixture, pagesStored } from "../helpers/manifest-fixture.ts";

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

const HOUR = 60 * 60 * 1000;
/** "now" for the piece cases: 2026-01-10T12:00:00.000Z. */
const NOW = Date.parse("2026-01-10T12:00:00.000Z");
/** A pack stem started `agoMs` before NOW. */
const stem = (agoMs: number, hex: string) =>
  `pack-${new Date(NOW - agoMs).toISOString().replace(/[-:.]/g, "")}-${hex.repeat(16).slice(0, 16)}`;
const A = stem(2 * HOUR, "a");
const B = stem(2 * HOUR, "b");
const OLD = stem(HOUR, "c"); // exactly the partial age: stale
const YOUNG = stem(HOUR - 1, "d"); // one millisecond short of it: fresh

/** The text of a valid pages manifest for `id` naming `packs` (1000 bytes each), its map 300 bytes. */
function pagesManifest(id: string, packs: string[], encrypted = false): string {
  const encryption = encrypted ? ({ type: "age", passphrase_env: "P", scrypt_log_n: 18 } as const) : null;
  const stored = pagesStored(
    id,
    packs.map((name) => ({ name, size: 1000 })),
    { encryption },
  );
  return JSON.stringify(manifestFixture(id, { stored }));
}

/** A file-format manifest for `id`, as every backup before pages backups. */
function fileManifest(id: string): string {
  return JSON.stringify(manifestFixture(id));
}

type Entry = { name: string; size?: number; regular?: boolean };
/** The local id key and copies of two keys beside the backups (plain and sealed), as loadOrCreateIdKey names them. */
const ID_KEY_FILES: Entry[] = [
  { name: LOCAL_ID_KEY_FILE, size: 32 },
  { name: idKeyCopyName("0123456789abcdef", false), size: 32 },
  { name: idKeyCopyName("0123456789abcdef", true), size: 250 },
  { name: idKeyCopyName("fedcba9876543210", true), size: 250 },
];
const map = (id: string, size = 300): Entry => ({ name: `${id}.map.zst`, size });
const pack = (s: string, size = 1000): Entry => ({ name: `${s}.zst`, size });
const idx = (s: string): Entry => ({ name: `${s}.idx`, size: 40 });

interface Expected {
  backups?: string[];
  partials?: string[];
  problems?: [string, string][];
  missingData?: string[];
  referenced?: string[];
  unreferenced?: [string, "stale" | "fresh"][];
  protected?: string[];
}

describe("classifyFolder: pages backups and their pieces", () => {
  it.each<[string, Entry[], Record<string, ManifestText>, Expected, boolean?]>([
    [
      "a pages backup with its map and every pack is listed; its packs and their indexes are referenced",
      [{ name: `${ID}.json` }, map(ID), pack(A), idx(A), pack(B), idx(B)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`, `${B}.zst`]) },
      { backups: [ID], referenced: [`${A}.idx`, `${A}.zst`, `${B}.idx`, `${B}.zst`] },
      true,
    ],
    [
      "an encrypted one the same way (an index is its pack's: plain, sealed under the id key, or age)",
      [
        { name: `${ID}.json` },
        { name: `${ID}.map.zst.age`, size: 300 },
        pack(`${A}`),
        { name: `${A}.idx.sealed` },
        { name: `${B}.zst.age`, size: 1000 },
        { name: `${B}.idx.age` },
        { name: `${B}.idx.sealed` },
        idx(B),
      ],
      { [`${ID}.json`]: pagesManifest(ID, [`${B}.zst.age`], true) },
      {
        backups: [ID],
        referenced: [`${B}.idx`, `${B}.idx.age`, `${B}.idx.sealed`, `${B}.zst.age`],
        unreferenced: [
          [`${A}.idx.sealed`, "stale"],
          [`${A}.zst`, "stale"],
        ],
      },
      true,
    ],
    [
      "a missing map is a problem with missing data; its packs stay referenced",
      [{ name: `${ID}.json` }, pack(A), idx(A)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`]) },
      {
        problems: [[ID, `map file ${ID}.map.zst is missing`]],
        missingData: [ID],
        referenced: [`${A}.idx`, `${A}.zst`],
      },
    ],
    [
      "a map that is not a regular file is a problem with missing data",
      [{ name: `${ID}.json` }, { ...map(ID), regular: false }, pack(A)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`]) },
      { problems: [[ID, `map file ${ID}.map.zst is not a regular file`]], missingData: [ID], referenced: [`${A}.zst`] },
    ],
    [
      "a map of the wrong size is a problem where sizes are checked",
      [{ name: `${ID}.json` }, map(ID, 299), pack(A)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`]) },
      { problems: [[ID, "map file is 299 bytes, manifest says 300"]], referenced: [`${A}.zst`] },
      true,
    ],
    [
      "a map of the wrong size is left to verify where sizes are not checked",
      [{ name: `${ID}.json` }, map(ID, 299), pack(A)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`]) },
      { backups: [ID], referenced: [`${A}.zst`] },
    ],
    [
      "a missing pack is a problem naming the first one missing",
      [{ name: `${ID}.json` }, map(ID), pack(A)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`, `${B}.zst`, `${OLD}.zst`]) },
      { problems: [[ID, `pack ${B}.zst is missing`]], missingData: [ID], referenced: [`${A}.zst`] },
    ],
    [
      "a pack that is not a regular file is a problem with missing data",
      [{ name: `${ID}.json` }, map(ID), { ...pack(A), regular: false }],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`]) },
      { problems: [[ID, `pack ${A}.zst is not a regular file`]], missingData: [ID], referenced: [`${A}.zst`] },
    ],
    [
      "a pack of the wrong size is a problem where sizes are checked",
      [{ name: `${ID}.json` }, map(ID), pack(A), pack(B, 5)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`, `${B}.zst`]) },
      { problems: [[ID, `pack ${B}.zst is 5 bytes, manifest says 1000`]], referenced: [`${A}.zst`, `${B}.zst`] },
      true,
    ],
    [
      "a pack of the wrong size is left to verify where sizes are not checked",
      [{ name: `${ID}.json` }, map(ID), pack(A), pack(B, 5)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`, `${B}.zst`]) },
      { backups: [ID], referenced: [`${A}.zst`, `${B}.zst`] },
    ],
    [
      "packs and indexes no manifest names are unreferenced, stale from the partial age by the time in their name",
      [{ name: `${ID}.json` }, map(ID), pack(A), pack(OLD), idx(OLD), pack(YOUNG), idx(YOUNG), idx(B)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`]) },
      {
        backups: [ID],
        referenced: [`${A}.zst`],
        unreferenced: [
          [`${B}.idx`, "stale"],
          [`${OLD}.idx`, "stale"],
          [`${OLD}.zst`, "stale"],
          [`${YOUNG}.idx`, "fresh"],
          [`${YOUNG}.zst`, "fresh"],
        ],
      },
    ],
    [
      "an index is referenced when its pack is, even with that pack gone",
      [{ name: `${ID}.json` }, map(ID), idx(A), idx(B)],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`]) },
      {
        problems: [[ID, `pack ${A}.zst is missing`]],
        missingData: [ID],
        referenced: [`${A}.idx`],
        unreferenced: [[`${B}.idx`, "stale"]],
      },
    ],
    [
      "a manifest that does not parse protects every piece no parsed manifest names, and its map is no partial",
      [{ name: `${ID}.json` }, map(ID), { name: `${OTHER}.json` }, map(OTHER), pack(A), pack(B), idx(B), pack(YOUNG)],
      { [`${ID}.json`]: "{ not json", [`${OTHER}.json`]: pagesManifest(OTHER, [`${A}.zst`]) },
      {
        backups: [OTHER],
        problems: [[ID, "manifest is not valid JSON"]],
        referenced: [`${A}.zst`],
        protected: [`${B}.idx`, `${B}.zst`, `${YOUNG}.zst`],
      },
    ],
    [
      "so does one that could not be read, and one that is invalid",
      [{ name: `${ID}.json` }, { name: `${OTHER}.json` }, pack(B)],
      { [`${ID}.json`]: new Error("permission denied"), [`${OTHER}.json`]: pagesManifest(ID, []) },
      {
        problems: [
          [ID, "permission denied"],
          [OTHER, `manifest id ${ID} does not match its file name`],
        ],
        protected: [`${B}.zst`],
      },
    ],
    [
      "a manifest that vanished between listing and reading protects nothing",
      [{ name: `${ID}.json` }, map(ID), pack(B)],
      { [`${ID}.json`]: null },
      { unreferenced: [[`${B}.zst`, "stale"]] },
    ],
    [
      "a map with no manifest for its id is a partial; packs never are, even beside a temporary pack",
      [map(OTHER), { name: `${OTHER}.map.zst.age` }, pack(A), { name: `.${A}.zst.1a2b3c4d.tmp` }],
      {},
      {
        partials: [`.${A}.zst.1a2b3c4d.tmp`, `${OTHER}.map.zst`, `${OTHER}.map.zst.age`],
        unreferenced: [[`${A}.zst`, "stale"]],
      },
    ],
    [
      "the map beside a data-file manifest of the same id is no partial, and that manifest references no pack",
      [{ name: `${ID}.json` }, { name: `${ID}.sqlite.zst`, size: 4 }, map(ID), pack(A)],
      { [`${ID}.json`]: fileManifest(ID) },
      { backups: [ID], unreferenced: [[`${A}.zst`, "stale"]] },
      true,
    ],
    [
      "the id key files are left alone beside a listed backup; only an interrupted write of one is a partial",
      [{ name: `${ID}.json` }, map(ID), pack(A), ...ID_KEY_FILES, { name: `.${LOCAL_ID_KEY_FILE}.1a2b3c4d.tmp` }],
      { [`${ID}.json`]: pagesManifest(ID, [`${A}.zst`]) },
      { backups: [ID], referenced: [`${A}.zst`], partials: [`.${LOCAL_ID_KEY_FILE}.1a2b3c4d.tmp`] },
      true,
    ],
    [
      "and beside a manifest that does not parse, where they are neither problems nor protected pieces",
      [{ name: `${ID}.json` }, map(ID), pack(B), ...ID_KEY_FILES],
      { [`${ID}.json`]: "{ not json" },
      { problems: [[ID, "manifest is not valid JSON"]], protected: [`${B}.zst`] },
    ],
    [
      "names shaped like pieces that sqlbak never writes are foreign: left alone",
      [
        { name: "pack-20261399T256199999Z-0123456789abcdef.zst" },
        { name: "pack-20260110T100000000Z-0123.zst" },
        { name: `${A}.zst.bak` },
        { name: "x.map.zst" },
      ],
      {},
      {},
    ],
  ])("%s", (_what, entries, texts, want, checkSize = false) => {
    const c = classifyFolder(entries, new Map(Object.entries(texts)), {
      database: "app",
      pathOf: (n) => `/f/${n}`,
      checkSize,
      nowMs: NOW,
    });
    expect({
      backups: c.backups.map((b) => b.manifest.id),
      partials: c.partials.map((p) => p.name).sort(),
      problems: c.problems.map((p) => [p.id, p.reason]),
      missingData: c.missingData.map((m) => m.manifest.id),
      referenced: c.pieces.referenced.map((e) => e.name),
      unreferenced: c.pieces.unreferenced.map((u) => [u.entry.name, u.stale ? "stale" : "fresh"]),
      protected: c.pieces.protected.map((e) => e.name),
    }).toEqual({
      backups: [],
      partials: [],
      problems: [],
      missingData: [],
      referenced: [],
      unreferenced: [],
      protected: [],
      ...want,
    });
  });

  it("a folder of data-file backups has no pieces, and its listing is what it always was", () => {
    const c = classify(
      [{ name: `${ID}.json` }, { name: `${ID}.sqlite.zst`, size: 4 }, { name: `${OTHER}.sqlite.zst` }],
      { [`${ID}.json`]: fileManifest(ID) },
      true,
    );
    expect(c.backups.map((b) => [b.manifest.id, b.data.name])).toEqual([[ID, `${ID}.sqlite.zst`]]);
    expect(c.partials.map((p) => p.name)).toEqual([`${OTHER}.sqlite.zst`]);
    expect(c.pieces).toEqual({ referenced: [], unreferenced: [], protected: [] });
  });
});
