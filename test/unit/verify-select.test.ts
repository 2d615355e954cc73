import { describe, expect, it } from "bun:test";
import type { Manifest, Verification } from "../../src/lib/model/manifest.ts";
import type { FolderListing, StoredBackup } from "../../src/lib/store/list.ts";
import { parseRandomCount, parseVerifyTarget, pickRandom, selectForVerify } from "../../src/lib/verify/select.ts";

function backup(database: string, n: number, verifiedAt: string[] = []): StoredBackup {
  const id = `${database}-2026112${n}T000000000Z-0000000${n}`;
  const verifications: Verification[] = verifiedAt.map((at) => ({ at, level: "quick", ok: true, problems: [] }));
  return {
    manifest: { id, database, verifications } as unknown as Manifest,
    manifestPath: `/b/${id}.json`,
    dataPath: `/b/${id}.sqlite.zst`,
  };
}

function listing(database: string, backups: StoredBackup[]): FolderListing {
  return { database, folder: `/b/${database}`, backups, partials: [], problems: [] };
}

/** A deterministic generator, so the shuffle is reproducible. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe("parseVerifyTarget", () => {
  it("tells ids from names", () => {
    expect(parseVerifyTarget(undefined)).toEqual({});
    expect(parseVerifyTarget("app")).toEqual({ name: "app" });
    expect(parseVerifyTarget("app-20261122T050607123Z-0123abcd")).toEqual({ id: "app-20261122T050607123Z-0123abcd" });
  });
  it.each(["../../etc/passwd", "/etc/passwd", "app/../x", "App", "app.db", "app-20261122T050607123Z-0123abcd.json"])(
    "refuses %p, never using it as a path",
    (arg) => {
      expect(() => parseVerifyTarget(arg)).toThrow(`"${arg}" is not a backup id or a database name`);
    },
  );
});

describe("parseRandomCount", () => {
  it.each([
    ["", 1],
    ["1", 1],
    ["12", 12],
    ["0", null],
    ["-1", null],
    ["x", null],
    ["1.5", null],
  ] as const)("%p -> %p", (raw, count) => {
    expect(parseRandomCount(raw)).toBe(count);
  });
});

describe("pickRandom", () => {
  const never1 = backup("app", 1);
  const never2 = backup("app", 2);
  const old = backup("app", 3, ["2026-01-01T00:00:00Z"]);
  const recent = backup("app", 4, ["2026-01-01T00:00:00Z", "2026-11-01T00:00:00Z"]);

  it("takes never-verified backups first, then the least recently verified", () => {
    for (let seed = 1; seed < 50; seed++) {
      const picked = pickRandom([recent, old, never1, never2], 3, seeded(seed));
      expect(new Set(picked.slice(0, 2))).toEqual(new Set([never1, never2]));
      expect(picked[2]).toBe(old);
    }
  });

  it("is random among equals", () => {
    const firsts = new Set(
      Array.from({ length: 40 }, (_, seed) => pickRandom([never1, never2], 1, seeded(seed + 1))[0]),
    );
    expect(firsts).toEqual(new Set([never1, never2]));
  });

  it("returns all when asked for more than there are", () => {
    expect(pickRandom([old, recent], 5)).toEqual([old, recent]);
  });
});

describe("selectForVerify", () => {
  const a1 = backup("app", 1);
  const a2 = backup("app", 2);
  const b1 = backup("blog", 3);
  const listings = [listing("app", [a1, a2]), listing("blog", [b1]), listing("empty", [])];

  it("defaults to the newest of each database", () => {
    expect(selectForVerify(listings, {}, { kind: "latest" })).toEqual([a2, b1]);
  });
  it("--all takes every backup", () => {
    expect(selectForVerify(listings, {}, { kind: "all" })).toEqual([a1, a2, b1]);
  });
  it("--random N takes N", () => {
    expect(selectForVerify(listings, {}, { kind: "random", count: 2 }, seeded(3))).toHaveLength(2);
  });
  it("an id takes that backup, or is a usage error", () => {
    expect(selectForVerify(listings, { id: a1.manifest.id }, { kind: "latest" })).toEqual([a1]);
    expect(() => selectForVerify(listings, { id: "app-20200101T000000000Z-00000000" }, { kind: "latest" })).toThrow(
      "no backup with id app-20200101T000000000Z-00000000",
    );
  });
});
