/**
 * A database that was truncated or emptied still backs up (exit 0), but says
 * so loudly: a warning, `shrunk` in the manifest, a failure notification, a
 * `stats --check` problem, and retention keeps the backup from before the
 * shrink until `backup --accept-shrink` or a backup back to size.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

interface Result {
  id: string;
  manifest_path: string;
  raw_size: number;
}

/** `app` is a 2 MiB database, backed up once; failure notifications append their environment to notes.env. */
async function project(extraToml = "") {
  const dir = tempDir();
  const db = join(dir, "app.db");
  makeDatabase(db, { journalMode: "delete", rows: 2048, payloadBytes: 1024 });
  const notes = join(dir, "notes.env");
  mkdirSync(join(dir, "nas")); // a dir destination must exist (it is a mount point)
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\nmin_free_space = "0"\n[retention]\nkeep_last = 1\nkeep_hourly = 0\nkeep_daily = 0\n` +
      `keep_weekly = 0\nkeep_monthly = 0\nkeep_yearly = 0\n[notify]\non = ["failure"]\n` +
      `command = "env | grep ^SQLBAK_ >> '${notes}'; echo --- >> '${notes}'"\n` +
      `[[database]]\nname = "app"\npath = "app.db"\n${extraToml}`,
  );
  const first = await backup(dir);
  expect(first.raw_size).toBeGreaterThanOrEqual(2 * 1024 * 1024);
  return { dir, db, notes, first };
}

async function backup(dir: string, ...extra: string[]): Promise<Result & { stderr: string }> {
  const r = await runCli(["backup", "app", "--kind", "scheduled", "--json", ...extra], { cwd: dir });
  expect(r.code).toBe(0);
  const [result] = parseJson(r.stdout).results;
  return { ...result, stderr: r.stderr };
}

const manifest = (r: Result) => JSON.parse(readFileSync(r.manifest_path, "utf8"));

function truncateDb(path: string) {
  truncateSync(path, 0);
  for (const s of ["-wal", "-shm", "-journal"]) rmSync(path + s, { force: true });
}

async function check(dir: string) {
  return runCli(["stats", "--check", "--local"], { cwd: dir });
}

describe("a database that shrank", () => {
  it(`truncated to 0 bytes: backs up with exit 0, but warns, flags the manifest, \
notifies and fails stats --check`, async () => {
    const p = await project();
    expect(manifest(p.first).shrunk).toBeUndefined();
    expect((await check(p.dir)).code).toBe(0);
    truncateDb(p.db);
    const shrunk = await backup(p.dir);
    expect(shrunk.raw_size).toBe(0);
    expect(shrunk.stderr).toContain(`app: the database shrank from 2`);
    expect(shrunk.stderr).toContain(
      `to 0 B (previous backup ${p.first.id}); if this was not intended, restore ${p.first.id}`,
    );
    expect(shrunk.stderr).toContain(`(\`sqlbak restore app --id ${p.first.id}\`)`);
    expect(shrunk.stderr).toContain("sqlbak backup app --accept-shrink");
    expect(manifest(shrunk).shrunk).toEqual({ previous_id: p.first.id, previous_size: p.first.raw_size });
    const logged = readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(logged.find((e) => e.op === "backup" && e.id === shrunk.id).shrunk).toEqual({
      previous_id: p.first.id,
      previous_size: p.first.raw_size,
    });
    // The failure channel heard about it (and only about that: the first backup was a plain success).
    const notes = readFileSync(p.notes, "utf8");
    expect(notes).toContain("SQLBAK_EVENT=backup.failure");
    expect(notes).toContain(`SQLBAK_PREVIOUS_ID=${p.first.id}`);
    expect(notes).toContain(`SQLBAK_ID=${shrunk.id}`);
    expect(notes.split("---").length - 1).toBe(1);
    const c = await check(p.dir);
    expect(c.code).toBe(3);
    expect(c.stdout).toContain(`app: the database shrank from`);
    expect(c.stdout).toContain(`(newest backup ${shrunk.id})`);
    const stats = parseJson((await runCli(["stats", "--json", "--local"], { cwd: p.dir })).stdout);
    expect(stats.databases[0].shrunk).toEqual({
      id: shrunk.id,
      raw_size: 0,
      previous_id: p.first.id,
      previous_size: p.first.raw_size,
    });
  });

  it("retention keeps the backup from before the shrink until --accept-shrink", async () => {
    const p = await project();
    truncateDb(p.db);
    const s1 = await backup(p.dir);
    // Still empty: compared with the backup from before the shrink, so it stays a shrink.
    const s2 = await backup(p.dir);
    expect(manifest(s2).shrunk).toEqual({ previous_id: p.first.id, previous_size: p.first.raw_size });
    const rot = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(rot.code).toBe(0);
    const [r] = parseJson(rot.stdout).results;
    expect(r.removed).toEqual([s1.id]);
    expect(r.backups.find((b: { id: string }) => b.id === p.first.id)).toMatchObject({
      action: "keep",
      reasons: ["before shrink"],
    });
    expect(existsSync(p.first.manifest_path)).toBe(true);

    const accepted = await backup(p.dir, "--accept-shrink");
    expect(manifest(accepted)).toMatchObject({ shrink_accepted: true, shrunk: { previous_id: p.first.id } });
    expect(accepted.stderr).toContain("accepted with --accept-shrink");
    const c = await check(p.dir);
    expect(c.stdout).not.toContain("shrank");
    expect(c.code).toBe(0);
    const rot2 = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(parseJson(rot2.stdout).results[0].removed.sort()).toEqual([p.first.id, s2.id].sort());
    // The next backup of the (intentionally) empty database is no shrink.
    const after = await backup(p.dir);
    expect(manifest(after).shrunk).toBeUndefined();
    expect(after.stderr).not.toContain("shrank");
  });

  it("destinations keep their copy of the backup from before the shrink too", async () => {
    const p = await project(`[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n`);
    const remote = (id: string) => join(p.dir, "nas", "app", `${id}.json`);
    expect(existsSync(remote(p.first.id))).toBe(true);
    truncateDb(p.db);
    const s1 = await backup(p.dir);
    await backup(p.dir);
    const rot = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(rot.code).toBe(0);
    const [r] = parseJson(rot.stdout).results;
    expect(r.removed).toEqual([s1.id]);
    expect(r.destinations[0]).toMatchObject({ destination: "nas", ok: true, removed: [s1.id] });
    expect(existsSync(remote(p.first.id))).toBe(true);
    expect(existsSync(remote(s1.id))).toBe(false);
  });

  it("a later backup back to its size ends the guard", async () => {
    const p = await project();
    truncateDb(p.db);
    await backup(p.dir);
    expect((await check(p.dir)).code).toBe(3);
    rmSync(p.db);
    makeDatabase(p.db, { journalMode: "delete", rows: 2048, payloadBytes: 1024 });
    const back = await backup(p.dir);
    expect(manifest(back).shrunk).toBeUndefined();
    expect((await check(p.dir)).code).toBe(0);
    const rot = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(parseJson(rot.stdout).results[0].removed).toContain(p.first.id);
  });

  it("a small database shrinking is not a shrink; emptying any non-empty one is", async () => {
    const dir = tempDir();
    const db = join(dir, "app.db");
    makeDatabase(db, { journalMode: "delete", rows: 200, payloadBytes: 1024 });
    writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "backups"\n[[database]]\nname = "app"\npath = "app.db"\n`);
    const first = await backup(dir);
    expect(first.raw_size).toBeLessThan(1024 * 1024);
    rmSync(db);
    makeDatabase(db, { journalMode: "delete", rows: 1, payloadBytes: 16 });
    const small = await backup(dir, "--accept-shrink");
    expect(small.raw_size * 10).toBeLessThan(first.raw_size);
    expect(manifest(small).shrunk).toBeUndefined();
    expect(manifest(small).shrink_accepted).toBeUndefined(); // nothing to accept: not recorded
    truncateDb(db);
    const empty = await backup(dir);
    expect(manifest(empty).shrunk).toEqual({ previous_id: small.id, previous_size: small.raw_size });
  });
});
