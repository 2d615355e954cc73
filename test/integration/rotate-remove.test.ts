/**
 * Crash-safe removal order on a real backup folder: the manifest goes first,
 * so a failure mid-way leaves a partial, never a manifest without data.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupDatabase } from "../../src/lib/backup/run.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { removeBackup } from "../../src/lib/retention/remove-backup.ts";
import { listFolder } from "../../src/lib/store/local.ts";
import { makeDatabase } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";

async function oneBackup() {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 10 });
  writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "backups"\n[[database]]\nname = "app"\npath = "app.db"\n`);
  const config = loadConfig({}, { HOME: dir }, dir);
  const r = await backupDatabase(config, config.databases[0]!, { kind: "scheduled", tags: [], dryRun: false });
  expect(r.ok).toBe(true);
  const listing = await listFolder(config.backupDir, "app");
  return { listing, backup: listing.backups[0]!, config };
}

describe("removeBackup", () => {
  it("removes the manifest and then the data file", async () => {
    const { backup, listing, config } = await oneBackup();
    removeBackup(backup, listing.folder);
    expect(existsSync(backup.manifestPath)).toBe(false);
    expect(existsSync(backup.dataPath)).toBe(false);
    expect(await listFolder(config.backupDir, "app")).toMatchObject({ backups: [], partials: [] });
  });

  it("leaves a partial (not a listed backup) when the data file cannot be removed", async () => {
    const { backup, listing, config } = await oneBackup();
    // A non-empty folder in place of the data file makes its unlink fail, as a crash would stop it.
    rmSync(backup.dataPath);
    mkdirSync(join(backup.dataPath, "x"), { recursive: true });
    expect(() => removeBackup(backup, listing.folder)).toThrow();
    expect(existsSync(backup.manifestPath)).toBe(false);
    const after = await listFolder(config.backupDir, "app");
    expect(after.backups).toEqual([]);
    expect(after.partials.map((p) => p.path)).toEqual([backup.dataPath]);
  });
});
