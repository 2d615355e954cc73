/**
 * The one `--json` convention (docs/json.md) through the compiled binary, for every command that has
 * --json: one parseable object on stdout, `"version": 1` its first key, snake_case keys all the way
 * down (user data such as table names is never rewritten), and errors as a JSON object with the same
 * exit code as without --json.
 */

import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { type Json, parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const SNAKE = /^[a-z0-9]+(_[a-z0-9]+)*$/;
/**
 * Keys that are the user's, not ours, at any depth: never converted, never checked. None is in an output
 * today; the manifest's per-table row counts would be, should one ever carry them.
 */
const USER_DATA_MAPS = new Set(["tables"]);

/** Every key path whose key is not snake_case (`count["pre-restore"]` is the kind's own name, allowed). */
function badKeys(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => badKeys(v, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const here = `${path}.${k}`;
    if (USER_DATA_MAPS.has(k)) return [];
    const ok = SNAKE.test(k) || k === "pre-restore";
    return [...(ok ? [] : [here]), ...badKeys(v, here)];
  });
}

/** Runs `args` with --json, expects `code`, and checks the convention; returns the object. */
async function json(dir: string, args: string[], code = 0, env: Record<string, string> = {}): Promise<Json> {
  const r = await runCli([...args, "--json"], { cwd: dir, env });
  if (r.code !== code) throw new Error(`sqlbak ${args.join(" ")}: exit ${r.code}, expected ${code}\n${r.stderr}`);
  const obj = parseJson(r.stdout);
  expect({ args, bad: badKeys(obj) }).toEqual({ args, bad: [] });
  return obj;
}

function project() {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 50 });
  makeDatabase(join(dir, "shop.db"), { rows: 20 });
  // A camelCase table name is the user's data: wherever it shows, it shows as it is.
  const db = new Database(join(dir, "app.db"));
  db.run('CREATE TABLE "userAccounts" (id INTEGER PRIMARY KEY)');
  db.close();
  mkdirSync(join(dir, "nas"));
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"
[notify]
on = ["failure", "report"]
command = "true"
[[destination]]
name = "nas"
type = "dir"
path = "nas"
[[database]]
name = "app"
path = "app.db"
[[database]]
name = "shop"
path = "shop.db"
incremental = false
`,
  );
  return dir;
}

describe("--json: one convention for every command", () => {
  it("every command prints one object, version 1 first, snake_case keys, lists under a named key", async () => {
    const dir = project();
    const backup = await json(dir, ["backup"]);
    expect(backup.results.map((r: Json) => r.database)).toEqual(["app", "shop"]);
    expect(backup.results[0]).toMatchObject({ ok: true, format: "pages", exit_code: 0, dry_run: false });
    expect(backup.results[0].copies[0]).toMatchObject({ destination: "nas", ok: true });
    expect((await json(dir, ["backup", "app", "--dry-run"])).results[0].dry_run).toBe(true);
    const rotated = await json(dir, ["backup", "shop", "--rotate", "--tag", "preMigrate"]);
    expect(rotated.results[0].rotation.database).toBe("shop");

    const list = await json(dir, ["list"]);
    expect(list.backups.length).toBe(3);
    const id = list.backups[0].id as string;
    expect((await json(dir, ["list", "--from", "nas"])).backups.length).toBe(3);
    // User data passes as it is: a camelCase tag stays camelCase.
    expect(list.backups[2].tags).toEqual(["preMigrate"]);

    expect((await json(dir, ["verify", "--all"])).results.every((r: Json) => r.ok)).toBe(true);
    expect((await json(dir, ["rotate", "--dry-run"])).results.map((r: Json) => r.database)).toEqual(["app", "shop"]);
    expect((await json(dir, ["rotate"])).results.length).toBe(2);

    expect(await json(dir, ["pin", id])).toMatchObject({ id, changed: true, tags: ["keep"] });
    expect(await json(dir, ["tag", id, "release"])).toMatchObject({ id, changed: true });
    expect(await json(dir, ["untag", id, "release"])).toMatchObject({ id, changed: true });
    expect(await json(dir, ["unpin", id])).toMatchObject({ id, changed: true, tags: [] });
    const forget = await json(dir, ["forget", id, "--dry-run", "--force"]);
    expect(forget.results[0].removed.map((b: Json) => b.id)).toEqual([id]);

    const plan = await json(dir, ["restore", "app", "--latest", "--to", join(dir, "out.db"), "--dry-run"]);
    expect(plan).toMatchObject({ dry_run: true, target: join(dir, "out.db"), target_exists: false });
    const restored = await json(dir, ["restore", "app", "--latest", "--to", join(dir, "out.db"), "--yes"]);
    expect(restored).toMatchObject({ database: "app", target: join(dir, "out.db"), pre_restore_id: null });

    const stats = await json(dir, ["stats"]);
    expect(stats.databases.map((d: Json) => d.database)).toEqual(["app", "shop"]);
    expect((await json(dir, ["stats", "--check"])).healthy).toBe(true);
    expect(await json(dir, ["report"])).toHaveProperty("databases");
    expect((await json(dir, ["report", "--send"])).delivery.failures).toEqual([]);

    expect((await json(dir, ["notify"])).channels.map((c: Json) => c.name)).toEqual(["command"]);
    expect((await json(dir, ["notify", "--test"])).results[0]).toMatchObject({ channel: "command", ok: true });

    const cron = await json(dir, ["install-schedule", "--platform", "cron"]);
    expect(cron).toMatchObject({ platform: "cron" });
    expect(cron.next_runs.length).toBeGreaterThan(0);
    const units = await json(dir, ["install-schedule", "--platform", "systemd", "--user"]);
    expect(units.files.length).toBeGreaterThan(0);
    // --apply through a stand-in crontab command (never the machine's own crontab).
    const crontab = join(dir, "fake-crontab");
    writeFileSync(
      crontab,
      `#!/bin/sh\ncase "$1" in\n  -n) exit 0 ;;\n  -l) exit 1 ;;\n  -) cat > /dev/null ;;\nesac\n`,
    );
    chmodSync(crontab, 0o755);
    const applied = await json(dir, ["install-schedule", "--platform", "cron", "--apply"], 0, {
      SQLBAK_CRONTAB: crontab,
      SQLBAK_SYSTEM_ENV_FILE: join(dir, "system.env"),
    });
    expect(applied).toMatchObject({ platform: "cron", action: "apply", todo: [] });
    expect(applied.changed.length).toBeGreaterThan(0);

    const sent = await json(dir, ["notify-failure", "backup"], 0, {
      MONITOR_SERVICE_RESULT: "signal",
      MONITOR_EXIT_CODE: "killed",
      MONITOR_EXIT_STATUS: "KILL",
      MONITOR_UNIT: "sqlbak-backup.service",
    });
    expect(sent).toMatchObject({ job: "backup", sent: true });
  }, 120_000);

  it("a failed run keeps its data and adds the error, with the exit code it has without --json", async () => {
    const dir = project();
    writeFileSync(join(dir, "shop.db"), "not a database at all, just text");
    const plain = await runCli(["backup"], { cwd: dir });
    const out = await json(dir, ["backup"], plain.code);
    expect(plain.code).toBe(1);
    expect(out.results.map((r: Json) => r.ok)).toEqual([true, false]);
    expect(out.error).toMatchObject({ exit_code: 1, kind: "failed" });
  }, 60_000);

  it("errors are one JSON object: a bad config and a usage error, with the same exit codes", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "sqlbak.toml"), 'backup_dir = "b"\n[[database]]\nname = "Bad Name"\npath = "x.db"\n');
    for (const args of [["list"], ["backup"], ["stats", "--check"]]) {
      const plain = await runCli(args, { cwd: dir });
      const r = await runCli([...args, "--json"], { cwd: dir });
      expect(plain.code).toBe(2);
      expect(r.code).toBe(plain.code);
      const obj = parseJson(r.stdout);
      expect(Object.keys(obj)).toEqual(["version", "error"]);
      expect(obj.error).toMatchObject({ exit_code: 2, kind: "config" });
      expect(obj.error.message).toContain("database[0].name");
      expect(badKeys(obj)).toEqual([]);
    }
    const usage = [["list", "--bogus"], ["restore", "app"], ["frobnicate"]];
    for (const args of usage) {
      const plain = await runCli(args, { cwd: tempDir() });
      const r = await runCli([...args, "--json"], { cwd: tempDir() });
      expect(plain.code).toBe(2);
      expect(r.code).toBe(2);
      const obj = parseJson(r.stdout);
      expect(obj.error).toMatchObject({ exit_code: 2, kind: "usage" });
      expect(typeof obj.error.message).toBe("string");
    }
    // The hint travels too.
    const unknown = parseJson((await runCli(["frobnicate", "--json"], { cwd: tempDir() })).stdout);
    expect(unknown.error.hint).toContain("commands:");
  }, 60_000);
});
