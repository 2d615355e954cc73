/**
 * The database itself in odd states, backed up through the compiled binary:
 * unreadable, deleted mid-run, a large uncheckpointed WAL, the WAL of a writer
 * killed with SIGKILL, random bytes (what a SQLCipher database looks like), a
 * SQLite header over garbage. Each either backs up whole or fails with one
 * clear line and exit 1; the source is never changed and no half backup is
 * listed. (A text file given as a database is in
 * test/e2e/backup.test.ts; page sizes 512/65536, empty, non-UTF-8 text and a hot
 * journal are in backup.test.ts here.)
 */

import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProject, rows, sha256File } from "../helpers/backups.ts";
import {
  expectAllListedBackupsWhole,
  expectCleanFailure,
  expectVerifyAllPasses,
  rebuildBackup,
} from "../helpers/check-backups.ts";
import { runUntil } from "../helpers/pause.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { AS_NOBODY, handToNobody } from "../helpers/unprivileged.ts";

const listed = async (dir: string) => expectAllListedBackupsWhole(dir, tempDir());

describe("odd source databases", () => {
  it("an unreadable database: exit 1, one clear line, nothing listed; backs up once readable", async () => {
    const p = makeProject();
    handToNobody(p.dir);
    chmodSync(p.dir, 0o755);
    chmodSync(p.db, 0o000);
    const r = await runCli(["backup"], { cwd: p.dir, prefix: AS_NOBODY });
    expectCleanFailure(r, 1, `app: backup failed: cannot read database ${p.db}: permission denied`);
    expect(await listed(p.dir)).toEqual([]);
    chmodSync(p.db, 0o644);
    expect((await runCli(["backup"], { cwd: p.dir, prefix: AS_NOBODY })).code).toBe(0);
    expect(await listed(p.dir)).toHaveLength(1);
  });

  it("a database deleted mid-run: the run finishes from the snapshot it took; the next one fails cleanly", async () => {
    const p = makeProject({ rows: 300 });
    const before = rows(p.db, "SELECT count(*) AS c FROM items");
    const run = await runUntil("backup:snapshot-taken", ["backup", "--json"], p.dir);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(p.db + suffix, { force: true });
    const r = await run.resume();
    expect(r.code).toBe(0);
    const [b] = await listed(p.dir);
    const copy = join(tempDir(), "copy.db");
    rebuildBackup(b!, copy);
    expect(rows(copy, "SELECT count(*) AS c FROM items")).toEqual(before);
    const next = await runCli(["backup"], { cwd: p.dir });
    expectCleanFailure(next, 1, `app: backup failed: cannot open database ${p.db}: no such file or directory`);
    expect(await listed(p.dir)).toHaveLength(1);
    await expectVerifyAllPasses(p.dir);
  });

  it(`a large uncheckpointed WAL (wal_autocheckpoint = 0): the backup holds every committed row, \
the source and its WAL untouched`, async () => {
    const p = makeProject({ rows: 10 });
    const app = new Database(p.db);
    try {
      app.run("PRAGMA wal_autocheckpoint = 0");
      const insert = app.prepare("INSERT INTO items (name, payload) VALUES ('wal', randomblob(8192))");
      for (let i = 0; i < 40; i++)
        app.transaction(() => {
          for (let j = 0; j < 100; j++) insert.run();
        })();
      insert.finalize();
      const wal = `${p.db}-wal`;
      expect(statSync(wal).size).toBeGreaterThan(30 * 1024 * 1024);
      expect(statSync(p.db).size).toBeLessThan(1024 * 1024); // the rows live only in the WAL
      const hashes = () => [sha256File(p.db), sha256File(wal)];
      const before = hashes();
      const r = await runCli(["backup", "--json"], { cwd: p.dir });
      expect(r.code).toBe(0);
      expect(hashes()).toEqual(before);
      const [b] = await listed(p.dir);
      const copy = join(tempDir(), "copy.db");
      rebuildBackup(b!, copy);
      expect(rows(copy, "SELECT count(*) AS c FROM items WHERE name = 'wal'")).toEqual([{ c: 4000 }]);
      await expectVerifyAllPasses(p.dir);
    } finally {
      app.close();
    }
  }, 60_000);

  // snapshot_method applies to self-contained files only; an incremental backup always reads pages.
  for (const [method, incremental] of [
    ["pages", false],
    ["vacuum", false],
    ["pages", true],
  ] as const)
    it(`a WAL left by a SIGKILLed writer (snapshot_method = ${method}, incremental = ${incremental}): ` +
      "the database and -wal byte-identical, the backup holds the WAL's rows", async () => {
      const p = makeProject({ rows: 10, incremental, dbToml: `snapshot_method = "${method}"` });
      const wal = `${p.db}-wal`;
      // A writer that crashes: it commits rows that live only in the WAL, then is killed; nothing
      // checkpoints them and no connection is left. A read-write connection closing last would now
      // checkpoint the WAL into the database and delete it; the read-only snapshot must not.
      const child = Bun.spawn(
        [
          "bun",
          "-e",
          `
      const { Database } = require("bun:sqlite");
      const db = new Database(${JSON.stringify(p.db)});
      db.run("PRAGMA wal_autocheckpoint = 0");
      const insert = db.prepare("INSERT INTO items (name, payload) VALUES ('crashed', randomblob(1024))");
      for (let i = 0; i < 5; i++) db.transaction(() => { for (let j = 0; j < 100; j++) insert.run(); })();
      console.log("ready");
      setInterval(() => {}, 1000);
    `,
        ],
        { stdout: "pipe" },
      );
      try {
        expect(new TextDecoder().decode((await child.stdout.getReader().read()).value)).toContain("ready");
      } finally {
        child.kill("SIGKILL");
        await child.exited;
      }
      expect(child.signalCode).toBe("SIGKILL");
      const walSize = statSync(wal).size;
      expect(walSize).toBeGreaterThan(500 * 1024); // 500 committed rows of 1 KiB, never checkpointed
      const hashes = () => [sha256File(p.db), sha256File(wal)];
      const before = hashes();
      const r = await runCli(["backup", "--json"], { cwd: p.dir });
      expect(r.code).toBe(0);
      expect(existsSync(wal)).toBe(true);
      expect(statSync(wal).size).toBe(walSize);
      expect(hashes()).toEqual(before);
      const [b] = await listed(p.dir);
      const copy = join(tempDir(), "copy.db");
      rebuildBackup(b!, copy);
      expect(rows(copy, "SELECT count(*) AS c FROM items WHERE name = 'crashed'")).toEqual([{ c: 500 }]);
      expect(rows(copy, "SELECT count(*) AS c FROM items")).toEqual([{ c: 510 }]);
      // The source still reads the same afterwards (this open is the test's own, after every check above).
      expect(rows(p.db, "SELECT count(*) AS c FROM items WHERE name = 'crashed'")).toEqual([{ c: 500 }]);
    }, 60_000);

  it.each([
    [
      "random bytes (a SQLCipher database looks like this)",
      () => crypto.getRandomValues(new Uint8Array(65536)),
      "not a SQLite database: ",
    ],
    [
      "a SQLite header page over random pages",
      (db: string) =>
        Buffer.concat([readFileSync(db).subarray(0, 4096), crypto.getRandomValues(new Uint8Array(40960))]),
      "not a SQLite database, or damaged: ",
    ],
  ])("%s: exit 1 with one clear line, nothing listed, the file untouched", async (_what, content, message) => {
    const p = makeProject();
    const file = join(p.dir, "odd.db");
    writeFileSync(file, content(p.db));
    const before = sha256File(file);
    const r = await runCli(["backup", "odd.db"], { cwd: p.dir });
    expectCleanFailure(r, 1, `odd: backup failed: ${message}${file}`);
    expect(sha256File(file)).toBe(before);
    expect(await listed(p.dir)).toEqual([]);
  });
});
