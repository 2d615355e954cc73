import { describe, expect, it } from "bun:test";
import {
  describeWalStarvation,
  type Manifest,
  WAL_BACKLOG_CEILING_BYTES,
  WAL_BACKLOG_FLOOR_BYTES,
  WAL_STARVATION_ADVICE,
  walStarvationOf,
} from "../../src/lib/model/index.ts";

const MiB = 1024 * 1024;
/** Bytes of WAL a snapshot of `frames` frames of 4 KiB pages read: header, then frame header + page each. */
const walSize = (frames: number) => 32 + frames * (24 + 4096);
/** Frames whose WAL is at least `bytes`. */
const framesFor = (bytes: number) => Math.ceil((bytes - 32) / (24 + 4096));

function manifest(rawSize: number, walFrames?: number, walBytes?: number): Manifest {
  return {
    database: "app",
    raw: { size: rawSize, sha256: "a".repeat(64) },
    snapshot: {
      method: "pages",
      page_size: 4096,
      page_count: rawSize / 4096,
      ...(walFrames === undefined ? {} : { wal_frames: walFrames, wal_bytes: walBytes ?? walSize(walFrames) }),
    },
  } as Manifest;
}

describe("walStarvationOf", () => {
  it.each<[string, number, number | undefined, boolean]>([
    ["an older manifest without WAL fields", 4 * MiB, undefined, false],
    ["a snapshot that read no WAL frame", 4 * MiB, 0, false],
    ["a small database under the floor", 1 * MiB, framesFor(WAL_BACKLOG_FLOOR_BYTES) - 1, false],
    ["a small database at the floor", 1 * MiB, framesFor(WAL_BACKLOG_FLOOR_BYTES), true],
    ["a 512 MiB database with a WAL just under its size", 512 * MiB, framesFor(512 * MiB) - 1, false],
    ["a 512 MiB database with a WAL of its size", 512 * MiB, framesFor(512 * MiB), true],
    ["a 60 GiB database under the 1 GiB ceiling", 60 * 1024 * MiB, framesFor(WAL_BACKLOG_CEILING_BYTES) - 1, false],
    ["a 60 GiB database at the 1 GiB ceiling", 60 * 1024 * MiB, framesFor(WAL_BACKLOG_CEILING_BYTES), true],
  ])("%s", (_what, rawSize, frames, starved) => {
    expect(walStarvationOf(manifest(rawSize, frames)) !== null).toBe(starved);
  });

  it("judges the backlog read, not the -wal file's size (which never shrinks by itself)", () => {
    // After a VACUUM the -wal file stays as big as the database, every frame checkpointed; a restarted WAL reads few.
    expect(walStarvationOf(manifest(1 * MiB, 3, 2 * WAL_BACKLOG_CEILING_BYTES))).toBeNull();
  });

  it("says what it saw and what to do", () => {
    const m = manifest(1 * MiB, 20_000, 90 * MiB);
    const w = walStarvationOf(m)!;
    expect(w).toEqual({
      backlog_bytes: walSize(20_000),
      wal_bytes: 90 * MiB,
      threshold_bytes: WAL_BACKLOG_FLOOR_BYTES,
    });
    const line = describeWalStarvation("app", w, m.raw.size);
    expect(line).toStartWith("app: the WAL holds 79 MiB written since its last restart");
    expect(line).toContain("-wal file 90 MiB, database 1.0 MiB");
    expect(line).toEndWith(WAL_STARVATION_ADVICE);
  });
});
