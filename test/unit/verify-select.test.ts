import { describe, expect, it } from "bun:test";
import type { Manifest, Verification } from "../../src/lib/model/manifest.ts";
import type { FolderListing, StoredBackup } from "../../src/lib/store/list.ts";
import {
  packsPerRun,
  parseRandomCount,
  parseVerifyTarget,
  pickPacks,
  pickRandom,
  selectForVerify,
  verifyIntervalMs,
} from "../../src/lib/verify/select.ts";

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

describe("packsPerRun", () => {
  const DAY = 86_400_000;
  it.each([
    // packs, interval, verify_max_age, K
    [0, DAY, 8 * DAY, 0],
    [10, DAY, 4 * DAY, 3], // four daily runs per 4 days: ceil(10 / 4)
    [10, 7 * DAY, 8 * DAY, 10], // weekly verify, 8d: one run fits, so every pack each run
    [10, 7 * DAY, 6 * DAY, 10], // a max age shorter than the interval still checks every pack
    [10, DAY / 24, 8 * DAY, 1], // hourly: 192 runs
    [10, null, 8 * DAY, 2], // verify not scheduled: ceil(10 / 8)
    [10, DAY, 0, 2], // verify_max_age "0": ceil(10 / 8)
  ] as const)("%p packs, interval %p, max age %p -> %p", (packs, interval, maxAge, k) => {
    expect(packsPerRun(packs, interval, maxAge)).toBe(k);
  });
});

describe("verifyIntervalMs", () => {
  it("is the mean gap between the schedule's runs, null when verify is not scheduled", () => {
    const now = new Date(2026, 10, 4, 12, 0);
    expect(verifyIntervalMs("0 3 * * 0", now)).toBe(7 * 86_400_000);
    expect(verifyIntervalMs("*/15 * * * *", now)).toBe(15 * 60_000);
    expect(verifyIntervalMs(null, now)).toBeNull();
  });
});

describe("pickPacks", () => {
  const SHA = "a".repeat(64);
  function pagesManifest(id: string, packs: string[], verifications: Verification[] = []): Manifest {
    return {
      id,
      stored: { format: "pages", packs: packs.map((name) => ({ name, size: 1, sha256: SHA })) },
      verifications,
    } as unknown as Manifest;
  }
  const checked = (at: string, packs_checked?: string[]): Verification => ({
    at,
    level: "checksum",
    ok: true,
    problems: [],
    bad_packs: [],
    ...(packs_checked ? { packs_checked } : {}),
  });

  it("picks never-checked packs first, then the least recently checked, skipping the picked backups' packs", () => {
    const a = pagesManifest("a", ["p1", "p2"], [checked("2026-01-02T00:00:00Z")]);
    const b = pagesManifest("b", ["p2", "p3", "p4"], [checked("2026-01-01T00:00:00Z", ["p3"])]);
    const c = pagesManifest("c", ["p5"]);
    const all = [a, b, c];
    const pick = (skip: string[], k: number) =>
      pickPacks(all, all, new Set(skip), k).map((p) => [p.pack.name, p.newest]);
    // p4 and p5 never checked; p3 checked on the 1st; p1, p2 on the 2nd.
    expect(pick([], 3)).toEqual([
      ["p4", "b"],
      ["p5", "c"],
      ["p3", "b"],
    ]);
    expect(pick(["p5"], 2)).toEqual([
      ["p4", "b"],
      ["p3", "b"],
    ]);
    // The record goes to the newest listed backup that references the pack.
    expect(pick(["p3", "p4", "p5"], 5)).toEqual([
      ["p1", "a"],
      ["p2", "b"],
    ]);
  });

  it("counts a pack record only for the packs it checked, and a record of an unlisted backup too", () => {
    const listed = [pagesManifest("a", ["p1", "p2"])];
    const gone = pagesManifest("z", ["p1"], [checked("2026-01-01T00:00:00Z", ["p1"])]);
    expect(pickPacks(listed, [...listed, gone], new Set(), 1).map((p) => p.pack.name)).toEqual(["p2"]);
  });
});

describe("pickRandom ignores pack records", () => {
  it("a backup whose only records are pack records counts as never verified", () => {
    const own = backup("app", 1, ["2026-01-05T00:00:00Z"]);
    const packOnly = backup("app", 2);
    packOnly.manifest.verifications.push({
      at: "2026-01-09T00:00:00Z",
      level: "checksum",
      ok: true,
      problems: [],
      bad_packs: [],
      packs_checked: ["p1"],
    });
    expect(pickRandom([own, packOnly], 1, seeded(1)).map((b) => b.manifest.id)).toEqual([packOnly.manifest.id]);
  });
});
