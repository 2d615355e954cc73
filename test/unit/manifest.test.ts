import { describe, expect, it } from "bun:test";
import { MAX_MANIFEST_BYTES, MAX_PACKS, type Manifest, serializeManifest } from "../../src/lib/model/manifest.ts";
import { parseManifest } from "../../src/lib/model/manifest-parse.ts";

const ID = "app-20261122T050607123Z-0123abcd";
const SHA = "a".repeat(64);

function sample(): Manifest {
  return {
    format: 1,
    id: ID,
    database: "app",
    source: "/var/lib/app/app.db",
    created_at: "2026-11-22T05:06:07.123Z",
    kind: "manual",
    tags: ["pre-migration"],
    snapshot: {
      method: "vacuum_into",
      sqlite_version: "3.54.1",
      page_size: 4096,
      page_count: 10,
      journal_mode: "wal",
      user_version: 7,
      schema_sha256: SHA,
      tables: { items: 100 },
    },
    raw: { size: 40960, sha256: SHA },
    stored: {
      file: `${ID}.sqlite.zst`,
      size: 1234,
      sha256: SHA,
      compression: "zstd",
      compression_level: 3,
      encryption: null,
    },
    check: { level: "quick", ok: true, result: "ok" },
    duration_ms: 12,
    host: "host",
    sqlbak_version: "0.1.0",
    verifications: [],
  };
}

describe("manifest", () => {
  it("round-trips through serialize and parse", () => {
    const m = sample();
    expect(parseManifest(serializeManifest(m), `${ID}.json`, "app")).toEqual(m);
  });

  it.each<[string, (m: Manifest) => unknown, RegExp]>([
    [
      "a data file path that escapes the folder",
      (m) => (m.stored.file = "../../etc/passwd"),
      /names a data file that does not belong to it/,
    ],
    [
      "an id that does not match the file name",
      (m) => (m.id = "app-20261122T050607123Z-ffffffff"),
      /does not match its file name/,
    ],
    ["another database's manifest", (m) => (m.database = "other"), /belongs to database "other"/],
    ["a malformed sha256", (m) => (m.stored.sha256 = "xyz"), /invalid stored size or sha256/],
    ["a negative size", (m) => (m.raw.size = -1), /invalid raw size/],
    ["an unknown kind", (m) => ((m as { kind: string }).kind = "weird"), /unknown kind/],
    ["a future format", (m) => ((m as { format: number }).format = 2), /unsupported format 2/],
    ["a fractional row count", (m) => (m.snapshot.tables!.items = 1.5), /invalid table counts/],
    [
      "a source mode beyond permission bits",
      (m) => (m.source_stat = { mode: 0o100644, uid: 0, gid: 0 }),
      /invalid source_stat/,
    ],
    ["a negative source owner", (m) => (m.source_stat = { mode: 0o640, uid: -1, gid: 0 }), /invalid source_stat/],
    [
      "a shrunk section without a backup id",
      (m) => (m.shrunk = { previous_id: "../x", previous_size: 10 }),
      /invalid shrunk section/,
    ],
    [
      "a shrunk section with a negative size",
      (m) => (m.shrunk = { previous_id: ID, previous_size: -1 }),
      /invalid shrunk section/,
    ],
    [
      "a non-boolean shrink_accepted",
      (m) => ((m as { shrink_accepted: unknown }).shrink_accepted = "yes"),
      /invalid shrink_accepted/,
    ],
    ["a negative wal_frames", (m) => (m.snapshot.wal_frames = -1), /invalid wal_frames or wal_bytes/],
    ["a fractional wal_bytes", (m) => (m.snapshot.wal_bytes = 4096.5), /invalid wal_frames or wal_bytes/],
    [
      "a wal_frames that is not a number",
      (m) => ((m.snapshot as { wal_frames: unknown }).wal_frames = "12"),
      /invalid wal_frames or wal_bytes/,
    ],
    [
      "packs_checked without bad_packs",
      (m) =>
        (m.verifications = [
          { at: "2026-01-01T00:00:00Z", level: "checksum", ok: true, problems: [], packs_checked: ["p"] },
        ]),
      /invalid packs_checked/,
    ],
    [
      "packs_checked that is not a list of names",
      (m) =>
        ((m as { verifications: unknown[] }).verifications = [
          { at: "2026-01-01T00:00:00Z", level: "checksum", ok: true, problems: [], bad_packs: [], packs_checked: [1] },
        ]),
      /invalid packs_checked/,
    ],
    [
      "a reused_from naming another database's backup",
      (m) => (m.check.reused_from = "other-20261121T050607123Z-0123abcd"),
      /invalid check.reused_from/,
    ],
    ["a reused_from that is not an id", (m) => (m.check.reused_from = "../x"), /invalid check.reused_from/],
    ["a reused_from naming itself", (m) => (m.check.reused_from = ID), /invalid check.reused_from/],
    [
      "a reused_from that is not a string",
      (m) => ((m.check as { reused_from: unknown }).reused_from = 7),
      /invalid check.reused_from/,
    ],
    [
      "a deeply nested extra field",
      (m) => Object.assign(m, { extra: JSON.parse(`${"[".repeat(100)}${"]".repeat(100)}`) }),
      /is nested too deeply/,
    ],
  ])("rejects %s", (_what, edit, expected) => {
    const m = sample();
    edit(m);
    expect(() => parseManifest(serializeManifest(m), `${ID}.json`, "app")).toThrow(expected);
  });

  it("accepts check.reused_from naming a backup of the same database", () => {
    const m = sample();
    m.check.reused_from = "app-20261121T050607123Z-0123abcd";
    expect(parseManifest(serializeManifest(m), `${ID}.json`, "app")).toEqual(m);
  });

  it("accepts the optional shrunk and shrink_accepted fields", () => {
    const m = {
      ...sample(),
      shrunk: { previous_id: "app-20261121T050607123Z-0123abcd", previous_size: 52428800 },
      shrink_accepted: true,
    };
    expect(parseManifest(serializeManifest(m), `${ID}.json`, "app")).toEqual(m);
  });

  it("accepts the optional wal_frames and wal_bytes of a page-level snapshot, and manifests without them", () => {
    const m = sample();
    m.snapshot = { ...m.snapshot, method: "pages", wal_frames: 120, wal_bytes: 494_912 };
    expect(parseManifest(serializeManifest(m), `${ID}.json`, "app").snapshot).toMatchObject({
      wal_frames: 120,
      wal_bytes: 494_912,
    });
    const older = parseManifest(serializeManifest(sample()), `${ID}.json`, "app");
    expect(older.snapshot.wal_frames).toBeUndefined();
    expect(older.snapshot.wal_bytes).toBeUndefined();
  });

  it("rejects text that is not a JSON object, and oversized files", () => {
    expect(() => parseManifest("[1]", `${ID}.json`, "app")).toThrow(/not a JSON object/);
    expect(() => parseManifest("{", `${ID}.json`, "app")).toThrow(/not valid JSON/);
    expect(() => parseManifest(" ".repeat(5 * 1024 * 1024), `${ID}.json`, "app")).toThrow(/too large/);
  });
});

const PACK_A = "pack-20261122T050600000Z-00112233445566aa.zst";
const PACK_B = "pack-20261122T050601000Z-00112233445566bb.zst";

/** A pages backup: its map and the packs the map references. */
function pagesSample(): Manifest {
  const m = sample();
  m.snapshot.method = "pages";
  m.stored = {
    format: "pages",
    file: `${ID}.map.zst`,
    size: 300,
    sha256: SHA,
    compression: "zstd",
    compression_level: 3,
    encryption: null,
    packs: [
      { name: PACK_A, size: 1000, sha256: SHA },
      { name: PACK_B, size: 2000, sha256: "b".repeat(64), new: true },
    ],
    page_size: 4096,
    pages_per_frame: 256,
  };
  return m;
}

/** The pages section of a pages manifest, for editing. */
function pagesOf(m: Manifest): Record<string, unknown> & { packs?: Record<string, unknown>[] } {
  return m.stored as unknown as Record<string, unknown> & { packs?: Record<string, unknown>[] };
}

const parse = (m: Manifest) => parseManifest(serializeManifest(m), `${ID}.json`, "app");

describe("manifest of a pages backup", () => {
  it("parses a valid one as it was written, encrypted too", () => {
    const m = pagesSample();
    expect(parse(m)).toEqual(m);
    const e = pagesSample();
    Object.assign(e.stored, {
      file: `${ID}.map.zst.age`,
      encryption: { type: "age", passphrase_env: "PASS", scrypt_log_n: 18 },
      packs: [{ name: `${PACK_A}.age`, size: 1, sha256: SHA }],
    });
    expect(parse(e)).toEqual(e);
  });

  it("keeps an old manifest as it was: no format means a data file, and an explicit 'file' is the same", () => {
    const old = sample();
    expect("format" in old.stored).toBe(false);
    expect(parse(old)).toEqual(old);
    const explicit = sample();
    explicit.stored = { ...explicit.stored, format: "file" };
    expect(parse(explicit)).toEqual(explicit);
  });

  it("accepts page sizes at both ends and one page per frame", () => {
    for (const pageSize of [512, 65536]) {
      const n = pagesSample();
      Object.assign(n.stored, { page_size: pageSize, pages_per_frame: 1 });
      expect(parse(n)).toEqual(n);
    }
  });

  it.each<[string, (s: ReturnType<typeof pagesOf>) => unknown, RegExp]>([
    ["an unknown stored format", (s) => (s.format = "chunks"), /has an unknown stored format "chunks"/],
    ["pages compressed with gzip", (s) => (s.compression = "gzip"), /stores pages with compression "gzip", not "zstd"/],
    [
      "a data file name for a pages backup",
      (s) => (s.file = `${ID}.sqlite.zst`),
      /names a map file that does not belong/,
    ],
    ["a map of another backup", (s) => (s.file = `${ID.replace("0123abcd", "ffffffff")}.map.zst`), /names a map file/],
    [
      "a map path that escapes the folder",
      (s) => (s.file = `../${ID}.map.zst`),
      /names a map file that does not belong/,
    ],
    ["an encrypted map without encryption", (s) => (s.file = `${ID}.map.zst.age`), /names a map file/],
    [
      "a plain map of an encrypted backup",
      (s) => (s.encryption = { type: "age", passphrase_env: "P", scrypt_log_n: 18 }),
      /names a map file/,
    ],
    ["no pack list", (s) => delete s.packs, /has an invalid pack list/],
    ["a pack list that is an object", (s) => (s.packs = {} as never), /has an invalid pack list/],
    ["a pack entry that is a string", (s) => (s.packs![1] = PACK_B as never), /has an invalid pack entry at index 1/],
    ["a pack entry that is null", (s) => (s.packs![0] = null as never), /has an invalid pack entry at index 0/],
    ["a pack path that escapes the folder", (s) => (s.packs![0]!.name = `../${PACK_A}`), /names a pack that does not/],
    ["a pack named like an index", (s) => (s.packs![0]!.name = PACK_A.replace(".zst", ".idx")), /names a pack that/],
    ["a pack named like a data file", (s) => (s.packs![1]!.name = `${ID}.sqlite.zst`), /names a pack that .* index 1/],
    [
      "a pack whose name has no real start time",
      (s) => (s.packs![0]!.name = "pack-20261399T256199999Z-00112233445566aa.zst"),
      /names a pack that does not belong to it at index 0/,
    ],
    ["a pack name that is not a string", (s) => (s.packs![0]!.name = 7), /names a pack that does not belong/],
    [
      "an encrypted pack of a plain map",
      (s) => (s.packs![1]!.name = `${PACK_B}.age`),
      /names pack .*\.age, encrypted unlike/,
    ],
    ["the same pack twice", (s) => (s.packs![1]!.name = PACK_A), new RegExp(`lists pack ${PACK_A} twice`)],
    ["a negative pack size", (s) => (s.packs![0]!.size = -1), /has an invalid size or sha256 for pack pack-/],
    ["a fractional pack size", (s) => (s.packs![0]!.size = 1.5), /has an invalid size or sha256 for pack/],
    ["a malformed pack sha256", (s) => (s.packs![1]!.sha256 = "B".repeat(64)), /invalid size or sha256 for pack/],
    ["a pack without sha256", (s) => delete s.packs![1]!.sha256, /has an invalid size or sha256 for pack/],
    ["a non-boolean new flag", (s) => (s.packs![1]!.new = "yes"), /has an invalid new flag for pack/],
    ["a page size below 512", (s) => (s.page_size = 256), /has an invalid stored page_size/],
    ["a page size above 65536", (s) => (s.page_size = 131072), /has an invalid stored page_size/],
    ["a page size that is not a power of two", (s) => (s.page_size = 3000), /has an invalid stored page_size/],
    ["no page size", (s) => delete s.page_size, /has an invalid stored page_size/],
    ["zero pages per frame", (s) => (s.pages_per_frame = 0), /has an invalid stored pages_per_frame/],
    ["fractional pages per frame", (s) => (s.pages_per_frame = 2.5), /has an invalid stored pages_per_frame/],
    ["no pages per frame", (s) => delete s.pages_per_frame, /has an invalid stored pages_per_frame/],
  ])("rejects %s", (_what, edit, expected) => {
    const m = pagesSample();
    edit(pagesOf(m));
    expect(() => parse(m)).toThrow(expected);
  });

  it("rejects more than 16384 packs before looking at any of them", () => {
    const m = pagesSample();
    pagesOf(m).packs = new Array(16_385).fill(0);
    expect(() => parse(m)).toThrow(/lists more than 16384 packs/);
    pagesOf(m).packs = new Array(16_384).fill(0);
    expect(() => parse(m)).toThrow(/has an invalid pack entry at index 0/);
  });

  it("a manifest listing MAX_PACKS packs, every one new, fits under MAX_MANIFEST_BYTES, encrypted names too", () => {
    const m = pagesSample();
    pagesOf(m).packs = Array.from({ length: MAX_PACKS }, (_, i) => ({
      name: `pack-20261203T142301241Z-${i.toString(16).padStart(16, "0")}.zst${m.stored.encryption ? ".age" : ""}`,
      size: 1_099_511_627_776,
      sha256: "f".repeat(64),
      new: true,
    }));
    const text = serializeManifest(m);
    // Encrypted packs' names are ".age" longer.
    expect(text.length + MAX_PACKS * ".age".length).toBeLessThan(MAX_MANIFEST_BYTES);
    expect(parseManifest(text, `${m.id}.json`, "app").id).toBe(m.id);
  });
});
