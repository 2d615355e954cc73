/**
 * Corrupt data: one byte flipped in each region of a stored backup (the zstd
 * header, the middle of the frames, the trailer), in turn. verify catches every
 * one at every level, with exit 3; restore refuses each one and leaves the
 * target alone. The same flip with the manifest's stored sha256 and size
 * rewritten to match (damage that happened before hashing, or a forger) must
 * still be caught by decompressing. Edited manifests (raw sha256, page count,
 * row counts) are covered in test/e2e/verify.test.ts and test/e2e/restore.test.ts.
 */
import { describe, expect, it } from "bun:test";
import { statSync } from "node:fs";
import { backupNow, editManifest, exec, flipByte, makeProject, sha256File } from "../helpers/backups.ts";
import { expectCleanFailure } from "../helpers/check-backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";

const REGIONS: [string, (size: number) => number][] = [
  ["header", () => 2],
  ["middle", (size) => Math.floor(size / 2)],
  ["trailer", (size) => size - 3],
];

/** A backup of several zstd frames (4 MiB chunks), then the live database moved on. */
async function damaged(region: (size: number) => number, rehash: boolean) {
  // The regions are those of one self-contained zstd file: incremental = false (a damaged pack of an
  // incremental backup is test/e2e/incremental-bad-pack.test.ts).
  const p = makeProject({ rows: 1200, payloadBytes: 8000, incremental: false }); // ~10 MiB raw: three frames
  const b = await backupNow(p);
  const good = await runCli(["verify", b.id, "--level", "full"], { cwd: p.dir });
  expect(good.code).toBe(0);
  exec(p.db, "DELETE FROM items WHERE id > 10");
  flipByte(b.file, region(statSync(b.file).size));
  if (rehash)
    editManifest(b.manifest, (m) =>
      Object.assign(m.stored, { sha256: sha256File(b.file), size: statSync(b.file).size }),
    );
  return { p, b };
}

async function expectRestoreRefused(p: { dir: string; db: string }, id: string) {
  const before = sha256File(p.db);
  const r = await runCli(["restore", "app", "--id", id, "--yes"], { cwd: p.dir });
  expectCleanFailure(r, 3, `refusing to restore ${id}: `);
  expect(r.stderr).toContain("nothing was changed");
  expect(sha256File(p.db)).toBe(before);
  const list = parseJson((await runCli(["list", "--json"], { cwd: p.dir })).stdout).backups;
  expect(list.map((x: { kind: string }) => x.kind)).toEqual(["manual"]); // no pre-restore backup: nothing was touched
}

describe("a flipped byte in a stored backup", () => {
  it.each(REGIONS)(
    "in the %s: every verify level fails it (exit 3) and restore refuses it",
    async (_region, at) => {
      const { p, b } = await damaged(at, false);
      for (const level of ["checksum", "quick", "full"]) {
        const r = await runCli(["verify", b.id, "--level", level], { cwd: p.dir });
        expect(r.stderr).toMatch(
          new RegExp(`${b.id}: FAILED ${level} verification: stored file sha256 \\w+… does not match the manifest's`),
        );
        expectCleanFailure(r, 3, "1 of 1 backups failed verification", 1);
      }
      await expectRestoreRefused(p, b.id);
    },
    60_000,
  );

  it.each(REGIONS)(
    "in the %s, with the manifest's stored hash forged to match: decompressing catches it",
    async (_region, at) => {
      const { p, b } = await damaged(at, true);
      // The checksum level can only compare with the manifest, which now agrees with the file.
      expect((await runCli(["verify", b.id, "--level", "checksum"], { cwd: p.dir })).code).toBe(0);
      const r = await runCli(["verify", b.id, "--level", "quick"], { cwd: p.dir });
      expect(r.stderr).toMatch(
        new RegExp(
          `${b.id}: FAILED quick verification: (decompressing failed|decompressed image (sha256|is \\d+ bytes))`,
        ),
      );
      expectCleanFailure(r, 3, "1 of 1 backups failed verification", 1);
      await expectRestoreRefused(p, b.id);
    },
    60_000,
  );
});
