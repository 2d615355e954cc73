import { describe, expect, it } from "bun:test";
import { type Manifest, parseManifest, serializeManifest } from "../../src/lib/model/manifest.ts";

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
    ["a fractional row count", (m) => (m.snapshot.tables.items = 1.5), /invalid table counts/],
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

  it("accepts the optional shrunk and shrink_accepted fields", () => {
    const m = {
      ...sample(),
      shrunk: { previous_id: "app-20261121T050607123Z-0123abcd", previous_size: 52428800 },
      shrink_accepted: true,
    };
    expect(parseManifest(serializeManifest(m), `${ID}.json`, "app")).toEqual(m);
  });

  it("rejects text that is not a JSON object, and oversized files", () => {
    expect(() => parseManifest("[1]", `${ID}.json`, "app")).toThrow(/not a JSON object/);
    expect(() => parseManifest("{", `${ID}.json`, "app")).toThrow(/not valid JSON/);
    expect(() => parseManifest(" ".repeat(5 * 1024 * 1024), `${ID}.json`, "app")).toThrow(/too large/);
  });
});
