import { describe, expect, it } from "bun:test";
import {
  compactTimestamp,
  dataFileName,
  manifestFileName,
  newBackupId,
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
});
