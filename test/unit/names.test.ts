import { describe, expect, it } from "bun:test";
import {
  compactTimestamp,
  dataFileName,
  MAP_FILE_RE,
  manifestFileName,
  mapFileName,
  newBackupId,
  newPackStem,
  PACK_FILE_RE,
  PACK_INDEX_RE,
  packFileName,
  packIndexName,
  packStartedAt,
  parseBackupId,
} from "../../src/lib/model/names.ts";

describe("backup ids", () => {
  const at = new Date("2026-11-22T05:06:07.123Z");

  it("embeds the UTC time with milliseconds and a random suffix", () => {
    expect(compactTimestamp(at)).toBe("20261122T050607123Z");
    expect(newBackupId("app", at, "0123abcd")).toBe("app-20261122T050607123Z-0123abcd");
  });

  it("round-trips through parseBackupId, names with dashes included", () => {
    const parsed = parseBackupId(newBackupId("my-app_2", at));
    expect(parsed?.database).toBe("my-app_2");
    expect(parsed?.createdAt.toISOString()).toBe(at.toISOString());
  });

  it("sorts by time as plain strings", () => {
    const ids: string[] = [new Date("2026-01-02T00:00:00.000Z"), new Date("2025-12-31T23:59:59.999Z"), at].map((d) =>
      newBackupId("db", d),
    );
    expect([...ids].sort()).toEqual([ids[1]!, ids[0]!, ids[2]!]);
  });

  it("never collides for backups in the same millisecond", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newBackupId("db", at)));
    expect(ids.size).toBe(1000);
  });

  it.each([
    "../../etc/passwd",
    "app",
    "app-20261122T050607123Z",
    "APP-20261122T050607123Z-0123abcd",
    "app-20261122T050607123Z-0123abcd.json",
    "app/x-20261122T050607123Z-0123abcd",
    "app-20261399T050607123Z-0123abcd",
  ])("rejects %p", (id) => expect(parseBackupId(id)).toBeNull());

  it("names data files by codec and manifests by id", () => {
    expect(dataFileName("a-20261122T050607123Z-0123abcd", "zstd")).toBe("a-20261122T050607123Z-0123abcd.sqlite.zst");
    expect(dataFileName("a-20261122T050607123Z-0123abcd", "gzip")).toBe("a-20261122T050607123Z-0123abcd.sqlite.gz");
    expect(dataFileName("a-20261122T050607123Z-0123abcd", "none")).toBe("a-20261122T050607123Z-0123abcd.sqlite");
    expect(manifestFileName("a-20261122T050607123Z-0123abcd")).toBe("a-20261122T050607123Z-0123abcd.json");
  });

  it("names the pieces of incremental backups, and reads a pack's start time from its name", () => {
    const stem = newPackStem(new Date("2026-12-03T12:00:00.123Z"), "0123456789abcdef");
    expect(stem).toBe("pack-20261203T120000123Z-0123456789abcdef");
    expect([packFileName(stem), packFileName(stem, true)]).toEqual([`${stem}.zst`, `${stem}.zst.age`]);
    expect([packIndexName(stem), packIndexName(stem, "sealed"), packIndexName(stem, "age")]).toEqual([
      `${stem}.idx`,
      `${stem}.idx.sealed`,
      `${stem}.idx.age`,
    ]);
    for (const sealing of ["plain", "sealed", "age"] as const) {
      expect(PACK_INDEX_RE.exec(packIndexName(stem, sealing))?.[2]).toBe("0123456789abcdef");
      expect(packStartedAt(packIndexName(stem, sealing))?.toISOString()).toBe("2026-12-03T12:00:00.123Z");
    }
    expect(PACK_INDEX_RE.test(`${stem}.idx.sealed.age`) || PACK_INDEX_RE.test(`${stem}.idx.zst`)).toBe(false);
    expect(PACK_FILE_RE.test(packFileName(stem, true)) && PACK_INDEX_RE.test(packIndexName(stem))).toBe(true);
    expect(packStartedAt(packIndexName(stem))?.toISOString()).toBe("2026-12-03T12:00:00.123Z");
    const id = "a-20261122T050607123Z-0123abcd";
    expect(MAP_FILE_RE.exec(mapFileName(id, true))?.[1]).toBe(id);
    for (const bad of [
      "pack-20261203T120000123Z-0123.zst",
      "../pack-20261203T120000123Z-0123456789abcdef.zst",
      "x.zst",
      "pack-20261399T256199999Z-0123456789abcdef.zst", // the shape of a pack, but no real time
    ])
      expect(packStartedAt(bad)).toBeNull();
  });
});
