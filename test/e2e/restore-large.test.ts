/**
 * `restore` of an image large enough (≥ 64 MiB) that its SHA-256 is taken by a worker following the copy
 * as it is decompressed (lib/verify/hash-beside.ts), through the compiled binary: a healthy backup restores
 * byte for byte; a changed image byte in well-formed frames, and a flipped stored byte, are refused with
 * exit 3 and the target untouched.
 */
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import {
  backupNow,
  editManifest,
  exec,
  type ListedBackup,
  makeProject,
  type Project,
  rows,
  sha256File,
} from "../helpers/backups.ts";
import { runCli } from "../helpers/run-cli.ts";

const FRAME = 2 * 1024 * 1024;

/** About 70 MiB: 8,800 rows of 8 KiB random payload, one of them named with a needle to find in the image. */
function largeProject(): Project {
  const p = makeProject({ incremental: false, rows: 8800, payloadBytes: 8192 });
  exec(p.db, "UPDATE items SET name = 'needle-in-the-image' WHERE id = 4321");
  return p;
}

/**
 * Rewrites the stored file as the same kind of independent, sized zstd frames of an image with one byte
 * changed, and records the new stored size and SHA-256 (not the raw one): the file is well formed and
 * decompresses, only the image's SHA-256 can tell.
 */
function reframeChanged(b: ListedBackup): void {
  const image = Buffer.from(Bun.zstdDecompressSync(readFileSync(b.file)));
  const at = image.indexOf("needle-in-the-image");
  expect(at).toBeGreaterThan(FRAME * 4);
  image[at] = "N".charCodeAt(0);
  const frames: Uint8Array[] = [];
  for (let off = 0; off < image.length; off += FRAME)
    frames.push(Bun.zstdCompressSync(image.subarray(off, off + FRAME)));
  writeFileSync(b.file, Buffer.concat(frames));
  editManifest(b.manifest, (m) => {
    m.stored.size = readFileSync(b.file).length;
    m.stored.sha256 = sha256File(b.file);
  });
}

const restoreOver = (p: Project, b: ListedBackup) =>
  runCli(["restore", "app", "--id", b.id, "--yes", "--force"], { cwd: p.dir });

const recorded = (b: ListedBackup) =>
  JSON.parse(readFileSync(b.manifest, "utf8")).raw as { size: number; sha256: string };

/**
 * Rewrites the stored file as 2 MiB sized frames for the first 8 MiB, then the rest as one frame with no
 * declared size (as `zstd` writes from a pipe): the frames path hands its first frames to the hash worker, then gives
 * up and the stream path decompresses the whole file again, hashing it itself.
 */
function restoreAsMixedFrames(b: ListedBackup): void {
  const image = Bun.zstdDecompressSync(readFileSync(b.file));
  const head: Uint8Array[] = [];
  for (let off = 0; off < 4 * FRAME; off += FRAME) head.push(Bun.zstdCompressSync(image.subarray(off, off + FRAME)));
  const tail = Bun.spawnSync(["zstd", "-q", "-1", "-c"], { stdin: image.subarray(4 * FRAME) });
  expect(tail.exitCode).toBe(0);
  writeFileSync(b.file, Buffer.concat([...head, tail.stdout]));
  editManifest(b.manifest, (m) => {
    m.stored.size = readFileSync(b.file).length;
    m.stored.sha256 = sha256File(b.file);
  });
}

describe("restore of a large image, hashed beside its decompression", () => {
  it("restores a healthy backup byte for byte", async () => {
    const p = largeProject();
    const b = await backupNow(p);
    expect(recorded(b).size).toBeGreaterThan(64 * 1024 * 1024);
    exec(p.db, "DELETE FROM items WHERE id > 10");

    const r = await restoreOver(p, b);
    expect(r.stderr).toContain(`restored ${b.id} to ${p.db} (SHA-256 matches the backup, `);
    expect(r.code).toBe(0);
    expect(sha256File(p.db)).toBe(recorded(b).sha256);
  });

  it("restores a file whose frames stop declaring their size part-way (the stream path takes over)", async () => {
    const p = largeProject();
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    restoreAsMixedFrames(b);

    const r = await restoreOver(p, b);
    expect(r.stderr).toContain(`restored ${b.id} to ${p.db} (SHA-256 matches the backup, `);
    expect(r.code).toBe(0);
    expect(sha256File(p.db)).toBe(recorded(b).sha256);
  });

  it("refuses (exit 3, target untouched) a changed image byte in well-formed frames", async () => {
    const p = largeProject();
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    const before = sha256File(p.db);
    reframeChanged(b);

    const r = await restoreOver(p, b);
    expect(r.stderr).toContain(`refusing to restore ${b.id}: `);
    expect(r.stderr).toMatch(/sha256 \w+… does not match the manifest's/);
    expect(r.code).toBe(3);
    expect(sha256File(p.db)).toBe(before);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 10 }]);
  });

  it("refuses (exit 3, target untouched) a flipped byte in the middle of the stored file", async () => {
    const p = largeProject();
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    const before = sha256File(p.db);
    const stored = readFileSync(b.file);
    stored[Math.floor(stored.length / 2)]! ^= 0xff;
    writeFileSync(b.file, stored);

    const r = await restoreOver(p, b);
    expect(r.stderr).toContain(`refusing to restore ${b.id}: `);
    expect(r.code).toBe(3);
    expect(sha256File(p.db)).toBe(before);
  });
});
