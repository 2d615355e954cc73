/**
 * The scheduled pipeline called as a library (what a fleet run or a hook
 * would do), on real databases, a real dir destination and a real webhook
 * on 127.0.0.1: the typed result says what was backed up, copied, rotated
 * and notified, and a database whose backup failed is never rotated.
 */
import { describe, expect, it } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runScheduledBackup, scheduledBackupFailure } from "../../src/lib/backup/index.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { listFolder, resolveBackupTargets } from "../../src/lib/store/index.ts";
import { makeDatabase } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";
import { webhook } from "../helpers/webhook.ts";

type Event = { event: string; database: string; rotated?: number };

function project(hookUrl: string) {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"));
  makeDatabase(join(dir, "other.db"));
  mkdirSync(join(dir, "nas"));
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"
[retention]
keep_last = 1
keep_daily = 0
keep_weekly = 0
keep_monthly = 0
[notify]
on = ["success", "failure"]
webhook = "${hookUrl}"
[[destination]]
name = "nas"
type = "dir"
path = "nas"
[[database]]
name = "app"
path = "app.db"
[[database]]
name = "other"
path = "other.db"
`,
  );
  const config = loadConfig({}, { HOME: dir }, dir);
  return { dir, config, targets: resolveBackupTargets(config, []) };
}

const ids = async (dir: string, db: string) =>
  (await listFolder(join(dir, "backups"), db)).backups.map((b) => b.manifest.id);
const remoteIds = (dir: string, db: string) =>
  readdirSync(join(dir, "nas", db))
    .filter((n) => n.endsWith(".json"))
    .map((n) => n.slice(0, -".json".length))
    .sort();

describe("runScheduledBackup", () => {
  it("backs up, copies, rotates only the databases that backed up, and notifies", async () => {
    const hook = webhook<Event>();
    const { dir, config, targets } = project(hook.url);
    const opts = { kind: "scheduled" as const, tags: [], dryRun: false };
    // Two earlier runs without rotation: two backups of each database, here and at the destination.
    for (let i = 0; i < 2; i++) {
      const earlier = await runScheduledBackup(config, targets, opts);
      expect(earlier.backups.map((r) => r.ok)).toEqual([true, true]);
      expect(earlier.rotations).toBeUndefined();
      expect(scheduledBackupFailure(earlier)).toBeUndefined();
    }
    const before = { app: await ids(dir, "app"), other: await ids(dir, "other") };
    expect(before.app).toHaveLength(2);
    expect(before.other).toHaveLength(2);
    expect(remoteIds(dir, "other")).toEqual(before.other);

    // "other" is now no database at all: its backup fails, and its two backups must stay.
    writeFileSync(join(dir, "other.db"), "not a database, a truncated file");
    hook.events.length = 0;
    const stages: string[] = [];
    const result = await runScheduledBackup(config, targets, {
      ...opts,
      rotate: true,
      onStage: (s) => stages.push(s),
    });

    const [app, other] = result.backups;
    expect(app).toMatchObject({ database: "app", ok: true });
    expect(other).toMatchObject({ database: "other", ok: false });
    expect(other!.error).toContain("not a SQLite database");
    expect(stages).toEqual(["copy", "rotate", "notify"]);

    // The new backup of app is copied; other has nothing new to copy.
    const appCopy = result.copies.find((c) => c.database === "app");
    expect(appCopy).toMatchObject({ destination: "nas", ok: true, uploaded: [app!.id], already_there: 2 });

    // Only app is rotated: both earlier backups go, here and at the destination; the one just taken stays.
    expect(result.rotations!.map((r) => r.database)).toEqual(["app"]);
    const [appRotation] = result.rotations!;
    expect(appRotation!.ok).toBe(true);
    expect([...appRotation!.removed].sort()).toEqual(before.app);
    expect(await ids(dir, "app")).toEqual([app!.id!]);
    expect(remoteIds(dir, "app")).toEqual([app!.id!]);
    expect(await ids(dir, "other")).toEqual(before.other);
    expect(remoteIds(dir, "other")).toEqual(before.other);

    // One event per backup, the success carrying how many were rotated away; all delivered.
    expect(result.notifyWarnings).toEqual([]);
    expect(hook.events.map((e) => [e.event, e.database, e.rotated])).toEqual([
      ["backup.success", "app", 2],
      ["backup.failure", "other", undefined],
    ]);
    expect(scheduledBackupFailure(result)).toEqual({
      message: "1 of 2 backups failed",
      code: 1,
      rotationError: undefined,
    });
  });

  it("a dry run writes, copies and removes nothing, and sends no backup event", async () => {
    const hook = webhook<Event>();
    const { dir, config, targets } = project(hook.url);
    await runScheduledBackup(config, targets, { kind: "scheduled", tags: [], dryRun: false });
    await runScheduledBackup(config, targets, { kind: "scheduled", tags: [], dryRun: false });
    const before = await ids(dir, "app");
    hook.events.length = 0;
    const result = await runScheduledBackup(config, targets, {
      kind: "scheduled",
      tags: [],
      dryRun: true,
      rotate: true,
    });
    expect(result.backups.map((r) => [r.ok, r.dryRun])).toEqual([
      [true, true],
      [true, true],
    ]);
    expect(result.copies).toEqual([]);
    expect(result.rotations!.map((r) => [r.database, r.dry_run, r.removed])).toEqual([
      ["app", true, []],
      ["other", true, []],
    ]);
    expect(result.rotations![0]!.backups.filter((b) => b.action === "remove")).toHaveLength(1);
    expect(await ids(dir, "app")).toEqual(before);
    expect(hook.events).toEqual([]);
  });
});
