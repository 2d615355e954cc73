/**
 * Restoring from a destination called as a library: the backup is downloaded
 * into a staging folder under backup_dir, restored to a new file, and the
 * staging folder is gone afterwards.
 */
import { describe, expect, it } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runScheduledBackup } from "../../src/lib/backup/index.ts";
import { NO_KEYS } from "../../src/lib/codec/index.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { listFrom, withBackend } from "../../src/lib/destinations/index.ts";
import { checkRestoreKeys, performRestore, planRestore } from "../../src/lib/restore/index.ts";
import { resolveBackupTargets } from "../../src/lib/store/index.ts";
import { makeDatabase, queryAll } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";

async function project() {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 7 });
  mkdirSync(join(dir, "nas"));
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n` +
      `[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  const config = loadConfig({}, { HOME: dir }, dir);
  const run = await runScheduledBackup(config, resolveBackupTargets(config, []), {
    kind: "manual",
    tags: [],
    dryRun: false,
  });
  expect(run.copies.map((c) => c.ok)).toEqual([true]);
  return { dir, config, id: run.backups[0]!.id! };
}

describe("performRestore", () => {
  it("downloads a backup from a destination, restores it, and leaves no staging folder", async () => {
    const { dir, config, id } = await project();
    const dest = config.destinations[0]!;
    const steps: string[] = [];
    const to = join(dir, "copy.db");
    const result = await withBackend(dest, async (backend) => {
      const [listing] = await listFrom(backend, dest, "app");
      const backup = listing!.backups.find((b) => b.manifest.id === id)!;
      await checkRestoreKeys(backup, NO_KEYS, true);
      const plan = planRestore(config, backup, { to, force: false, keys: NO_KEYS, from: "nas" });
      return performRestore(config, plan, {
        from: { backend, destination: "nas" },
        keys: NO_KEYS,
        onStep: (s) => steps.push(s),
      });
    });
    expect(result).toMatchObject({ id, database: "app", target: to, preRestoreId: null });
    expect(steps[0]).toStartWith(`downloading ${id} from nas (`);
    expect(queryAll(to, "SELECT count(*) AS c FROM items")).toEqual([{ c: 7 }]);
    // Only the database folder, the op log and the listing cache the copy wrote: the staging folder of the download is gone.
    expect(readdirSync(join(dir, "backups")).sort()).toEqual([".sqlbak-listings", "app", "sqlbak.log.jsonl"]);
  });
});
