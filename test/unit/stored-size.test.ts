/** What a backup added, and what a folder's backups store, once packs are shared between backups. */
import { describe, expect, it } from "bun:test";
import type { Manifest, StoredPack } from "../../src/lib/model/index.ts";
import { addedBytes, storedBytesOf } from "../../src/lib/model/index.ts";

const SHA = "a".repeat(64);

/** Only the fields the size helpers read: the stored section. */
function fileBackup(size: number): Manifest {
  return {
    stored: { file: "x.sqlite.zst", size, sha256: SHA, compression: "zstd", compression_level: 3, encryption: null },
  } as Manifest;
}

function pagesBackup(mapSize: number, packs: StoredPack[]): Manifest {
  return {
    stored: {
      format: "pages",
      file: "x.map.zst",
      size: mapSize,
      sha256: SHA,
      compression: "zstd",
      compression_level: 3,
      encryption: null,
      packs,
      page_size: 4096,
      pages_per_frame: 256,
    },
  } as Manifest;
}

const pack = (name: string, size: number, isNew = false): StoredPack => ({
  name,
  size,
  sha256: SHA,
  ...(isNew ? { new: true } : {}),
});

describe("addedBytes", () => {
  it("is a file backup's stored size", () => {
    expect(addedBytes(fileBackup(1234))).toBe(1234);
  });

  it("is a pages backup's map plus only the packs it wrote", () => {
    expect(addedBytes(pagesBackup(50, [pack("p1", 1000), pack("p2", 300, true)]))).toBe(350);
    expect(addedBytes(pagesBackup(50, [pack("p1", 1000)]))).toBe(50);
  });
});

describe("storedBytesOf", () => {
  it("counts every data file and map, and each shared pack once", () => {
    const backups = [
      fileBackup(5000),
      pagesBackup(40, [pack("p1", 1000, true)]),
      pagesBackup(45, [pack("p1", 1000), pack("p2", 300, true)]),
      pagesBackup(50, [pack("p2", 300), pack("p1", 1000)]),
    ];
    expect(storedBytesOf(backups)).toBe(5000 + 40 + 45 + 50 + 1000 + 300);
  });

  it("counts a pack whose writer is gone (rotated away) once, from a backup that still references it", () => {
    expect(storedBytesOf([pagesBackup(45, [pack("p1", 1000), pack("p2", 300, true)])])).toBe(1345);
  });

  it("is 0 for no backups", () => {
    expect(storedBytesOf([])).toBe(0);
  });
});
