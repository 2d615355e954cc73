/**
 * Hostile input through the compiled binary: planted, escaping, huge, deeply
 * nested and unreadable manifests, and a config that is not UTF-8. A manifest
 * sqlbak cannot trust is skipped with one warning; it is never followed out of
 * its folder, never read whole when huge, and its backup's data is never swept
 * away as a partial. (Ids such as `../../etc/passwd` given to verify and restore
 * are refused with exit 2 in test/e2e/verify.test.ts and test/e2e/restore.test.ts.)
 */
import { describe, expect, it } from "bun:test";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { backupNow, makeProject, sha256File } from "../helpers/backups.ts";
import { expectAllListedBackupsWhole } from "../helpers/check-backups.ts";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const DEEP = 200_000;

describe("hostile input", () => {
  it("ignores a planted symlink manifest and a manifest that points outside its folder", async () => {
    const { dir } = makeProject();
    expect((await runCli(["backup"], { cwd: dir })).code).toBe(0);
    const folder = join(dir, "backups", "app");
    const [real] = readdirSync(folder).filter((f) => f.endsWith(".json") && !f.startsWith("."));
    symlinkSync(join(folder, real!), join(folder, "app-20200101T000000000Z-aaaaaaaa.json"));
    const escaped = JSON.parse(await Bun.file(join(folder, real!)).text());
    escaped.id = "app-20200101T000000000Z-bbbbbbbb";
    escaped.stored.file = "../../../etc/passwd";
    writeFileSync(join(folder, "app-20200101T000000000Z-bbbbbbbb.json"), JSON.stringify(escaped));
    writeFileSync(join(folder, "app-20200101T000000000Z-cccccccc.json"), "[".repeat(100_000));
    const list = await runCli(["list", "--json"], { cwd: dir });
    expect(list.code).toBe(0);
    expect(parseJson(list.stdout).backups).toHaveLength(1);
    expect(list.stderr).toContain("aaaaaaaa.json: manifest is not a regular file");
    // "data file" for a self-contained backup, "map file" for an incremental one.
    expect(list.stderr).toMatch(/bbbbbbbb\.json: manifest names a (data|map) file that does not belong to it/);
    expect(list.stderr).toContain("cccccccc.json: manifest is not valid JSON");
  });

  it("a backup whose data file is a symlink is a problem named in the listing, not a listed backup", async () => {
    // About the self-contained data file (a symlinked map is named "map file"): incremental = false.
    const p = makeProject({ incremental: false });
    const victim = await backupNow(p);
    const healthy = await backupNow(p);
    const outside = join(p.dir, "outside.sqlite.zst");
    copyFileSync(victim.file, outside);
    rmSync(victim.file);
    symlinkSync(outside, victim.file);
    const list = await runCli(["list", "--json"], { cwd: p.dir });
    expect(list.code).toBe(0);
    expect(parseJson(list.stdout).backups.map((b: { id: string }) => b.id)).toEqual([healthy.id]);
    expect(list.stderr).toContain(
      `skipped ${victim.manifest}: data file ${victim.file.split("/").pop()} is not a regular file`,
    );
    const stats = await runCli(["stats", "--json"], { cwd: p.dir });
    expect(JSON.stringify(parseJson(stats.stdout))).toContain("is not a regular file");
    // Neither a backup nor a partial: the link and its target are left alone.
    expect((await runCli(["rotate"], { cwd: p.dir })).code).toBe(0);
    expect(existsSync(outside)).toBe(true);
  });

  for (const where of ["backup_dir", "backup_dir/<database>"]) {
    it(`a regular file where ${where} should be is one clear message and exit 1 for backup, list, \
stats and rotate`, async () => {
      const p = makeProject();
      const backups = join(p.dir, "backups");
      if (where === "backup_dir") writeFileSync(backups, "not a folder");
      else {
        mkdirSync(backups);
        writeFileSync(join(backups, "app"), "not a folder");
      }
      const file = where === "backup_dir" ? backups : join(backups, "app");
      for (const cmd of ["backup", "list", "stats", "rotate"]) {
        const r = await runCli([cmd], { cwd: p.dir });
        expect({ cmd, code: r.code }).toEqual({ cmd, code: 1 });
        expect(r.stderr).toContain(`${file} is a file, not a folder`);
        expect(r.stderr).not.toContain("ENOTDIR");
        expect(r.stderr).not.toContain("EEXIST");
        expect(r.stderr).not.toContain("looks like a bug");
      }
      expect(readFileSync(file, "utf8")).toBe("not a folder");
    });
  }

  it("rejects a config that is not UTF-8, with exit 2 and nothing written", async () => {
    const dir = tempDir();
    makeDatabase(join(dir, "app.db"));
    writeFileSync(
      join(dir, "sqlbak.toml"),
      new Uint8Array([0x62, 0x61, 0x63, 0x6b, 0x75, 0x70, 0x5f, 0x64, 0x69, 0x72, 0x3d, 0x22, 0xe9, 0x22]),
    );
    const r = await runCli(["backup", "app.db"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not valid UTF-8");
    expect(readdirSync(dir)).not.toContain("backups");
  });

  it.each([
    [
      "huge manifest (a sparse 6 GiB file)",
      (path: string) => truncateSync(path, 6 * 1024 ** 3),
      "manifest is too large",
    ],
    [
      "deeply nested manifest",
      (path: string) =>
        writeFileSync(
          path,
          readFileSync(path, "utf8").replace(/}\s*$/, `, "extra": ${"[".repeat(DEEP)}${"]".repeat(DEEP)} }`),
        ),
      "manifest is nested too deeply",
    ],
    [
      "manifest from a future format",
      (path: string) => writeFileSync(path, readFileSync(path, "utf8").replace('"format": 1', '"format": 2')),
      "manifest has unsupported format 2",
    ],
  ])(
    "skips a %s without reading it whole, and never sweeps its data away as a partial",
    async (_what, plant, message) => {
      const p = makeProject();
      const victim = await backupNow(p);
      const healthy = await backupNow(p);
      const victimData = sha256File(victim.file);
      plant(victim.manifest);
      const old = new Date(Date.now() - 3 * 3_600_000); // past the partial sweep's one hour
      utimesSync(victim.file, old, old);
      const source = sha256File(p.db);
      const list = await runCli(["list", "--json"], { cwd: p.dir });
      expect(list.stderr).toContain(`skipped ${victim.manifest}: ${message}`);
      expect(list.code).toBe(0);
      expect(parseJson(list.stdout).backups.map((b: { id: string }) => b.id)).toEqual([healthy.id]);
      // Backup and rotate both sweep stale partials: the victim's data must survive both.
      expect((await runCli(["backup"], { cwd: p.dir })).code).toBe(0);
      expect((await runCli(["rotate"], { cwd: p.dir })).code).toBe(0);
      expect(existsSync(victim.file)).toBe(true);
      expect(sha256File(victim.file)).toBe(victimData);
      const verify = await runCli(["verify", victim.id], { cwd: p.dir });
      expect(verify.stderr).toContain(`no backup with id ${victim.id}`);
      expect(verify.code).toBe(2);
      expect(await expectAllListedBackupsWhole(p.dir, tempDir())).toHaveLength(2);
      const all = await runCli(["verify", "--all"], { cwd: p.dir });
      expect(all.stderr).not.toContain("FAILED");
      expect(all.code).toBe(0);
      expect(sha256File(p.db)).toBe(source);
    },
    30_000,
  );
});
