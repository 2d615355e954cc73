/**
 * `restore`'s proof through the compiled binary: by default the restored image's SHA-256 against the one
 * recorded at backup time, and no SQLite check; `--check quick|full` to have SQLite look again; a backup
 * taken with check = "none" gets quick_check by default.
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
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";

/** Self-contained backups stored as the plain image (compression = "none"): a byte of the file is a byte of the image. */
const PLAIN = { incremental: false, toml: 'compression = "none"' };

/** Rewrites the stored image with `damage` and records its new SHA-256 as the backup's, as a forger would. */
function forge(b: ListedBackup, damage: (image: Buffer) => void): void {
  const image = readFileSync(b.file);
  damage(image);
  writeFileSync(b.file, image);
  const sha = sha256File(b.file);
  editManifest(b.manifest, (m) => {
    m.raw.sha256 = sha;
    m.stored.sha256 = sha;
  });
}

/** Page 2 (the items table's root) gets an invalid b-tree page type: quick_check fails, the file still opens. */
const breakBtree = (image: Buffer) => {
  const pageSize = image.readUInt16BE(16);
  image[pageSize] = 0x07;
};

async function restoreOver(p: Project, b: ListedBackup, extra: string[] = []) {
  return runCli(["restore", "app", "--id", b.id, "--yes", "--json", ...extra], { cwd: p.dir });
}

describe("restore proves a copy by its SHA-256", () => {
  it("by default runs no SQLite check: an image forged with a matching SHA-256 restores, --check quick refuses it", async () => {
    const p = makeProject(PLAIN);
    const b = await backupNow(p);
    forge(b, breakBtree);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    const before = sha256File(p.db);

    const quick = await restoreOver(p, b, ["--check", "quick"]);
    expect(quick.stderr).toContain(`refusing to restore ${b.id}: `);
    expect(quick.stderr).toMatch(/quick_check|reading the decompressed copy failed/);
    expect(quick.code).toBe(3);
    expect(sha256File(p.db)).toBe(before);

    const full = await restoreOver(p, b, ["--check", "full"]);
    expect(full.stderr).toMatch(/integrity_check|reading the decompressed copy failed/);
    expect(full.code).toBe(3);
    expect(sha256File(p.db)).toBe(before);

    const plain = await restoreOver(p, b);
    expect(plain.stderr).toContain(`restored ${b.id} to ${p.db} (SHA-256 matches the backup, `);
    expect(plain.code).toBe(0);
    expect(parseJson(plain.stdout).check).toBe("checksum");
    // Byte for byte what the (forged) manifest records: the SHA-256 was the proof, and nothing else looked.
    expect(sha256File(p.db)).toBe(JSON.parse(readFileSync(b.manifest, "utf8")).raw.sha256);
  });

  it("refuses (exit 3, target untouched) a stored byte changed inside a row, which quick_check would not see", async () => {
    const p = makeProject(PLAIN);
    exec(p.db, "UPDATE items SET name = 'needle-in-the-image' WHERE id = 3");
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    const before = sha256File(p.db);
    const image = readFileSync(b.file);
    const at = image.indexOf("needle-in-the-image");
    expect(at).toBeGreaterThan(0);
    image[at] = "N".charCodeAt(0);
    writeFileSync(b.file, image);

    const r = await restoreOver(p, b);
    expect(r.stderr).toContain(`refusing to restore ${b.id}: `);
    expect(r.stderr).toMatch(/sha256 \w+… does not match the manifest's/);
    expect(r.stderr).toContain("nothing was changed");
    expect(r.code).toBe(3);
    expect(sha256File(p.db)).toBe(before);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 10 }]);
  });

  it('runs quick_check by default on a backup taken with check = "none"; --check checksum skips it', async () => {
    const p = makeProject({ ...PLAIN, dbToml: 'check = "none"' });
    const b = await backupNow(p);
    expect(JSON.parse(readFileSync(b.manifest, "utf8")).check.level).toBe("none");
    forge(b, breakBtree);
    const before = sha256File(p.db);

    const r = await restoreOver(p, b);
    expect(r.stderr).toMatch(/quick_check|reading the decompressed copy failed/);
    expect(r.code).toBe(3);
    expect(sha256File(p.db)).toBe(before);

    const asked = await restoreOver(p, b, ["--check", "checksum"]);
    expect(asked.code).toBe(0);
    expect(parseJson(asked.stdout).check).toBe("checksum");
  });

  it('a healthy check = "none" backup restores with quick_check, and says so', async () => {
    const p = makeProject({ dbToml: 'check = "none"' });
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    const r = await restoreOver(p, b);
    expect(r.stderr).toContain("(SHA-256 matches the backup, quick_check ok, ");
    expect(r.code).toBe(0);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 50 }]);
    expect(rows(p.db, "PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
  });

  it("refuses an unknown --check with exit 2 before anything happens", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    const before = sha256File(p.db);
    const r = await restoreOver(p, b, ["--check", "paranoid"]);
    expect(r.stderr).toContain('--check must be one of checksum, quick, full, not "paranoid"');
    expect(r.code).toBe(2);
    expect(sha256File(p.db)).toBe(before);
  });
});
