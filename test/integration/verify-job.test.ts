/**
 * A whole verify run called as a library: real backups, one of them damaged,
 * and a webhook on 127.0.0.1; the typed result carries the verdicts, the
 * failure is notified, and the exit decision is exit 3.
 */
import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runScheduledBackup } from "../../src/lib/backup/index.ts";
import { NO_KEYS } from "../../src/lib/codec/index.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import type { ListingProblem } from "../../src/lib/store/index.ts";
import { resolveBackupTargets } from "../../src/lib/store/index.ts";
import { runVerifyJob, verifyJobFailure } from "../../src/lib/verify/index.ts";
import { makeDatabase } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";
import { webhook } from "../helpers/webhook.ts";

type Event = { event: string; database: string; id?: string };

describe("runVerifyJob", () => {
  it("verifies the newest backup of each database, notifies the damaged one and ends with exit 3", async () => {
    const hook = webhook<Event>();
    const dir = tempDir();
    makeDatabase(join(dir, "app.db"));
    makeDatabase(join(dir, "other.db"));
    writeFileSync(
      join(dir, "sqlbak.toml"),
      `backup_dir = "backups"\n[notify]\nwebhook = "${hook.url}"\n` +
        `[[database]]\nname = "app"\npath = "app.db"\n[[database]]\nname = "other"\npath = "other.db"\n`,
    );
    const config = loadConfig({}, { HOME: dir }, dir);
    const taken = await runScheduledBackup(config, resolveBackupTargets(config, []), {
      kind: "manual",
      tags: [],
      dryRun: false,
    });
    const [app, other] = taken.backups;
    writeFileSync(String(other!.dataPath), "damaged");
    writeFileSync(join(dir, "backups", "app", "app-20260101T000000000Z-00000000.json"), "{ not a manifest");
    const skipped: ListingProblem[] = [];
    const job = await runVerifyJob(config, {
      target: {},
      selector: { kind: "latest" },
      level: "quick",
      levelGiven: false,
      keys: NO_KEYS,
      listCommand: "sqlbak list",
      onSkipped: (p) => skipped.push(p),
    });
    expect(skipped.map((p) => p.id)).toEqual(["app-20260101T000000000Z-00000000"]);
    expect(job.level).toBe("quick");
    expect(job.results.map((r) => [r.id, r.ok])).toEqual([
      [String(app!.id), true],
      [String(other!.id), false],
    ]);
    expect(job.notifyWarnings).toEqual([]);
    expect(hook.events.map((e) => [e.event, e.database, e.id])).toEqual([
      ["verify.failure", "other", String(other!.id)],
    ]);
    expect(verifyJobFailure(job.results)).toEqual({ message: "1 of 2 backups failed verification", code: 3 });
  });

  it("says there is nothing to verify with exit 3", async () => {
    const dir = tempDir();
    makeDatabase(join(dir, "app.db"));
    writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "backups"\n[[database]]\nname = "app"\npath = "app.db"\n`);
    const config = loadConfig({}, { HOME: dir }, dir);
    const run = runVerifyJob(config, {
      target: { name: "app" },
      selector: { kind: "latest" },
      level: "quick",
      levelGiven: false,
      keys: NO_KEYS,
      listCommand: "sqlbak list",
    });
    await expect(run).rejects.toMatchObject({
      message: `nothing to verify: no backups under ${join(dir, "backups")} for "app"`,
      exitCode: 3,
    });
  });
});
