/**
 * Restore's kept copies (the replaced file beside the database) through the compiled binary: listed by
 * `list` and `stats`, rotated by `rotate` and `backup --rotate` by keep_pre_restore (the newest stay, the
 * rest go with their sidecars, a dry run removes nothing, nothing else is touched), and chosen instead of
 * a pre-restore backup by `pre_restore` in the config unless --pre-restore says otherwise.
 */
import { describe, expect, it } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupNow, exec, listEntries, makeProject, type Project, rows } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";

const keptOf = (dir: string) => readdirSync(dir).filter((n) => /^app\.db\.pre-restore-\d{8}T\d{9}Z$/.test(n));

/** Two kept copies by restores, two older ones (the oldest with a -wal) as if kept in 2020, and decoys. */
async function withKeptCopies(p: Project) {
  await backupNow(p);
  for (let i = 0; i < 2; i++) {
    exec(p.db, `INSERT INTO items (name) VALUES ('r${i}')`);
    const r = await runCli(["restore", "app", "--latest", "--yes", "--quiet"], { cwd: p.dir });
    expect(r.code).toBe(0);
  }
  const recent = keptOf(p.dir).sort().reverse();
  expect(recent).toHaveLength(2);
  const old = ["app.db.pre-restore-20200102T000000000Z", "app.db.pre-restore-20200101T000000000Z"];
  for (const n of old) copyFileSync(p.db, join(p.dir, n));
  writeFileSync(join(p.dir, `${old[1]}-wal`), "");
  // Not kept copies of app.db: never listed, never removed.
  for (const n of ["app.db.pre-restore-later", "other.db.pre-restore-20200101T000000000Z", "app.db.pre-restore-x-wal"])
    writeFileSync(join(p.dir, n), "x");
  return { recent, old, newestFirst: [...recent, ...old] };
}

describe("kept copies are listed and rotated like pre-restore backups", () => {
  it("list and stats show them with path, time and size; they are no backups", async () => {
    const p = makeProject({ toml: "[retention]\nkeep_pre_restore = 2\n" });
    const { newestFirst } = await withKeptCopies(p);
    const listed = await listEntries(p);
    const files = listed.filter((x) => x.kind === "pre-restore-file") as unknown as Record<string, unknown>[];
    expect(files.map((f) => f.file)).toEqual(newestFirst.map((n) => join(p.dir, n)).reverse());
    expect(files[0]).toEqual({
      id: "app.db.pre-restore-20200101T000000000Z",
      database: "app",
      created_at: "2020-01-01T00:00:00.000Z",
      kind: "pre-restore-file",
      source: p.db,
      file: join(p.dir, "app.db.pre-restore-20200101T000000000Z"),
      size: readFileSync(join(p.dir, "app.db.pre-restore-20200101T000000000Z")).length,
    });
    expect(listed.map((x) => x.kind)).toEqual(["manual", ...Array(4).fill("pre-restore-file")]);
    const table = (await runCli(["list", "app"], { cwd: p.dir })).stdout;
    expect(table).toMatch(
      new RegExp(`\\n${join(p.dir, newestFirst[0]!)} .* ago +pre-restore-file +- +[\\d.]+ KiB +-\\n`),
    );

    const s = parseJson((await runCli(["stats", "--json"], { cwd: p.dir })).stdout).databases[0];
    expect(s.pre_restore_files.map((f: { file: string }) => f.file)).toEqual(newestFirst.map((n) => join(p.dir, n)));
    expect(s.count).toMatchObject({ total: 1, "pre-restore": 0 });
    expect((await runCli(["stats"], { cwd: p.dir })).stdout).toContain(`pre-restore files  4 beside the database (`);
  });

  it("rotate keeps the newest keep_pre_restore, removes the rest with sidecars; --dry-run removes nothing", async () => {
    const p = makeProject({ toml: "[retention]\nkeep_pre_restore = 2\n" });
    const { recent, old, newestFirst } = await withKeptCopies(p);
    const before = readdirSync(p.dir).sort();

    const dry = await runCli(["rotate", "--dry-run", "--json"], { cwd: p.dir });
    expect(dry.code).toBe(0);
    const plan = parseJson(dry.stdout).results[0];
    expect(plan.pre_restore_files.map((f: { file: string; action: string }) => [f.file, f.action])).toEqual(
      newestFirst.map((n, i) => [join(p.dir, n), i < 2 ? "keep" : "remove"]),
    );
    expect(plan.pre_restore_files[0].reasons).toEqual(["pre-restore 2"]);
    expect(plan.removed_pre_restore_files).toEqual([]);
    expect(readdirSync(p.dir).sort()).toEqual(before);
    const dryTable = await runCli(["rotate", "--dry-run"], { cwd: p.dir });
    expect(dryTable.stdout).toMatch(new RegExp(`\\nwould remove +${join(p.dir, old[1]!)} .* pre-restore-file `));

    const r = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).results[0].removed_pre_restore_files).toEqual([
      join(p.dir, old[0]!),
      join(p.dir, old[1]!),
      join(p.dir, `${old[1]}-wal`),
    ]);
    expect(r.stderr).toContain(`removed pre-restore file ${join(p.dir, old[1]!)}`);
    expect(keptOf(p.dir).sort()).toEqual([...recent].sort());
    for (const n of [
      "app.db.pre-restore-later",
      "other.db.pre-restore-20200101T000000000Z",
      "app.db.pre-restore-x-wal",
    ])
      expect(existsSync(join(p.dir, n))).toBe(true);
    expect((await listEntries(p)).map((x) => x.kind)).toEqual(["manual", "pre-restore-file", "pre-restore-file"]);
    const log = readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.op === "rotate-remove-file");
    expect(log.map((e) => e.file)).toEqual(old.map((n) => join(p.dir, n)));
  });

  it("backup --rotate rotates them too", async () => {
    const p = makeProject({ toml: "[retention]\nkeep_pre_restore = 2\n" });
    const { recent } = await withKeptCopies(p);
    const r = await runCli(["backup", "app", "--rotate"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(keptOf(p.dir).sort()).toEqual([...recent].sort());
  });

  it('a restore never removes the copy it just kept (keep_pre_restore = 0); "unlimited" keeps them all', async () => {
    const p = makeProject({ toml: "[retention]\nkeep_pre_restore = 0\n" });
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items");
    const r = await runCli(["restore", "app", "--id", b.id, "--yes", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    const kept = parseJson(r.stdout).pre_restore_file as string;
    expect(existsSync(kept)).toBe(true);
    const undo = await runCli(["restore", "app", "--file", kept, "--yes", "--json"], { cwd: p.dir });
    expect(undo.code).toBe(0);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 0 }]);
    // The undo kept the restored file in turn, and that one only: the rule still removes the older.
    expect(keptOf(p.dir)).toEqual([parseJson(undo.stdout).pre_restore_file.split("/").at(-1)]);
    expect((await runCli(["rotate"], { cwd: p.dir })).code).toBe(0);
    expect(keptOf(p.dir)).toEqual([]);

    const q = makeProject({ toml: '[retention]\nkeep_pre_restore = "unlimited"\n' });
    await withKeptCopies(q);
    expect((await runCli(["restore", "app", "--latest", "--yes"], { cwd: q.dir })).code).toBe(0);
    expect((await runCli(["rotate"], { cwd: q.dir })).code).toBe(0);
    expect(keptOf(q.dir)).toHaveLength(5);
  });
});

describe("pre_restore in the config", () => {
  it('pre_restore = "backup" takes a pre-restore backup by default; --pre-restore keep overrides it', async () => {
    const p = makeProject({ toml: 'pre_restore = "backup"\n' });
    const b = await backupNow(p);
    const r = await runCli(["restore", "app", "--id", b.id, "--yes"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(keptOf(p.dir)).toEqual([]);
    expect((await listEntries(p)).map((x) => x.kind)).toEqual(["manual", "pre-restore"]);
    const k = await runCli(["restore", "app", "--id", b.id, "--yes", "--pre-restore", "keep"], { cwd: p.dir });
    expect(k.code).toBe(0);
    expect(keptOf(p.dir)).toHaveLength(1);
    expect((await listEntries(p)).map((x) => x.kind)).toEqual(["manual", "pre-restore", "pre-restore-file"]);
  });

  it("the [[database]] entry of the replaced file overrides the global key, and --pre-restore backup both", async () => {
    const p = makeProject({ toml: 'pre_restore = "backup"\n', dbToml: 'pre_restore = "keep"\n' });
    const b = await backupNow(p);
    expect((await runCli(["restore", "app", "--id", b.id, "--yes"], { cwd: p.dir })).code).toBe(0);
    expect(keptOf(p.dir)).toHaveLength(1);
    const q = makeProject({ dbToml: 'pre_restore = "keep"\n' });
    const c = await backupNow(q);
    expect(
      (await runCli(["restore", "app", "--id", c.id, "--yes", "--pre-restore", "backup"], { cwd: q.dir })).code,
    ).toBe(0);
    expect(keptOf(q.dir)).toEqual([]);
    expect((await listEntries(q)).map((x) => x.kind)).toEqual(["manual", "pre-restore"]);
  });

  it("refuses a value that is not keep or backup (exit 2, one line)", async () => {
    const p = makeProject({ toml: 'pre_restore = "copy"\n' });
    const r = await runCli(["list"], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `[error] ${join(p.dir, "sqlbak.toml")}: pre_restore: "copy" is not one of keep | backup`,
    );
  });
});
