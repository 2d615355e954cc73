/**
 * The pre-restore safety copy by rename, through the compiled binary: the replaced file itself kept beside
 * the target (its WAL checkpointed into it, its own mode), printed with an undo command that works, and
 * rotated by keep_pre_restore.
 */
import { describe, expect, it } from "bun:test";
import { chmodSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { backupNow, exec, listEntries, makeProject, rows, sha256File } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runUntil } from "../helpers/pause.ts";
import { runCli } from "../helpers/run-cli.ts";

/** Rows written by a process killed before it closed: they are only in app.db-wal, never checkpointed. */
async function leaveRowsInWal(db: string, n: number): Promise<void> {
  const script =
    `const { Database } = require("bun:sqlite"); const db = new Database(${JSON.stringify(db)});` +
    `db.run("PRAGMA wal_autocheckpoint = 0"); db.run("BEGIN");` +
    `for (let i = 0; i < ${n}; i++) db.run("INSERT INTO items (name) VALUES ('wal-only')");` +
    `db.run("COMMIT"); process.kill(process.pid, "SIGKILL");`;
  await Bun.spawn(["bun", "-e", script]).exited;
  expect(statSync(`${db}-wal`).size).toBeGreaterThan(0);
}

const keptOf = (dir: string) => readdirSync(dir).filter((n) => /^app\.db\.pre-restore-\d{8}T\d{9}Z$/.test(n));

describe("restore keeps the replaced file as its safety copy", () => {
  it("keeps it whole (WAL included) with its own mode, prints an undo command that works, takes no backup", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    await leaveRowsInWal(p.db, 5);
    chmodSync(p.db, 0o640);
    const r = await runCli(["restore", "app", "--id", b.id, "--yes", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    const out = parseJson(r.stdout);
    const [name] = keptOf(p.dir);
    const kept = join(p.dir, name!);
    expect(out.pre_restore_file).toBe(kept);
    expect(out.pre_restore_id).toBeNull();
    expect(r.stderr).toContain(`the previous database was kept beside it as ${kept} (pre-restore safety copy)`);
    expect(r.stderr).toContain(`to undo: sqlbak restore app --file ${kept} --yes`);
    // No backup taken: the kept file is listed as the pre-restore safety copy.
    expect((await listEntries(p)).map((x) => [x.kind, x.file])).toEqual([
      ["manual", b.file],
      ["pre-restore-file", kept],
    ]);
    expect(statSync(kept).mode & 0o777).toBe(0o640);
    expect(statSync(kept).ino).not.toBe(statSync(p.db).ino);
    // Its WAL travelled into it (checkpointed under the hold): the file alone holds the 5 rows.
    expect(existsSync(`${kept}-wal`)).toBe(false);
    expect(rows(kept, "SELECT count(*) AS n FROM items")).toEqual([{ n: 15 }]);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 50 }]);
    const keptSha = sha256File(kept);

    const undo = await runCli(["restore", "app", "--file", kept, "--yes"], { cwd: p.dir });
    expect(undo.stderr).toContain("the kept file itself, renamed back");
    expect(undo.code).toBe(0);
    expect(sha256File(p.db)).toBe(keptSha);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 15 }]);
    expect(statSync(p.db).mode & 0o777).toBe(0o640);
    // The undo kept what it replaced in turn: the restored database, 50 rows.
    const again = keptOf(p.dir).map((n) => join(p.dir, n));
    expect(again).toHaveLength(1);
    expect(again[0]).not.toBe(kept);
    expect(rows(again[0]!, "SELECT count(*) AS n FROM items")).toEqual([{ n: 50 }]);
  });

  it("kill -9 between keeping and the swap: the target is wholly old, and the next run drops the unswapped name", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    const oldSha = sha256File(p.db);
    const run = await runUntil("restore:pre-restore-taken", ["restore", "app", "--id", b.id, "--yes"], p.dir);
    await run.kill();
    expect(sha256File(p.db)).toBe(oldSha);
    // The kept name is still a second name of the live file, no copy: the next restore removes it first.
    const [left] = keptOf(p.dir);
    expect(statSync(join(p.dir, left!)).ino).toBe(statSync(p.db).ino);
    const next = await runCli(["restore", "app", "--id", b.id, "--yes", "--json"], { cwd: p.dir });
    expect(next.code).toBe(0);
    const kept = keptOf(p.dir);
    expect(kept).toHaveLength(1);
    expect(statSync(join(p.dir, kept[0]!)).ino).not.toBe(statSync(p.db).ino);
    expect(sha256File(join(p.dir, kept[0]!))).toBe(oldSha);
  });

  it("keeps only the newest keep_pre_restore copies", async () => {
    const p = makeProject({ toml: "[retention]\nkeep_pre_restore = 2" });
    const b = await backupNow(p);
    for (let i = 0; i < 3; i++) {
      exec(p.db, `INSERT INTO items (name) VALUES ('round ${i}')`);
      expect((await runCli(["restore", "app", "--id", b.id, "--yes"], { cwd: p.dir })).code).toBe(0);
    }
    expect(keptOf(p.dir)).toHaveLength(2);
  });

  it("--pre-restore backup takes a pre-restore backup instead, and keeps nothing beside the database", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    const r = await runCli(["restore", "app", "--id", b.id, "--yes", "--pre-restore", "backup"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(keptOf(p.dir)).toEqual([]);
    expect((await listEntries(p)).map((x) => x.kind)).toEqual(["manual", "pre-restore"]);
  });

  it("refuses a --file that is not a kept copy of the target (exit 2), target untouched", async () => {
    const p = makeProject();
    await backupNow(p);
    const before = sha256File(p.db);
    const r = await runCli(["restore", "app", "--file", join(p.dir, "other.db"), "--yes"], { cwd: p.dir });
    expect(r.stderr).toContain(`${join(p.dir, "other.db")} is not a kept copy of ${p.db}`);
    expect(r.code).toBe(2);
    expect(sha256File(p.db)).toBe(before);
  });
});
