/**
 * Fault injection for `backup`, through the compiled binary: crashes at many
 * points (by timing, and at named steps with the pause hook of
 * src/lib/system/test-pause.ts), a full disk, a read-only folder, odd databases,
 * concurrent runs (more in concurrency.test.ts). Each case
 * asserts that the source is unchanged, no half backup is ever listed, and the
 * next run recovers by itself.
 */

import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  expectAllListedBackupsWhole,
  expectCleanFailure,
  expectVerifyAllPasses,
  rebuildBackup,
  sha256File,
} from "../helpers/check-backups.ts";
import { integrityCheck, makeDatabase, queryAll } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runUntil } from "../helpers/pause.ts";
import { BIN, cleanEnv, runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { itWithTmpfs, mountTmpfs, unmountTmpfs } from "../helpers/tmpfs.ts";
import { AS_NOBODY, handToNobody } from "../helpers/unprivileged.ts";

/** `incremental` left out: the default (incremental backups). */
function setup(rows = 50, payloadBytes = 64, incremental?: boolean) {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows, payloadBytes, journalMode: "delete" });
  const key = incremental === undefined ? "" : `incremental = ${incremental}\n`;
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n${key}[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  return dir;
}

/** The folder's id key and its copy: made once for incremental backups and kept, never a leftover. */
const isIdKey = (f: string) => f === ".sqlbak-id-key" || /^id-key-[0-9a-f]{16}(\.age)?$/.test(f);
/** A pack or its index: freed by rotate once unreferenced and stale by its name, not by backup. */
const isPiece = (f: string) => f.startsWith("pack-");

/** The database folder's files, without the lock and the id key. */
function folderFiles(dir: string): string[] {
  try {
    return readdirSync(join(dir, "backups", "app")).filter((f) => !f.startsWith(".sqlbak-lock") && !isIdKey(f));
  } catch {
    return [];
  }
}

describe("backup under faults", () => {
  it("kill -9 at many points never leaves a listed half backup, and the next run recovers", async () => {
    // ~24 MiB of incompressible rows: a backup takes long enough to be killed in each stage.
    const dir = setup(3000, 8192);
    const sourceHash = sha256File(join(dir, "app.db"));
    const scratch = tempDir();
    for (const delayMs of [5, 15, 30, 50, 80, 120, 180, 260, 400]) {
      const proc = Bun.spawn([BIN, "backup"], { cwd: dir, env: cleanEnv({}, dir), stdout: "ignore", stderr: "ignore" });
      await Bun.sleep(delayMs);
      proc.kill("SIGKILL");
      await proc.exited;
      expect(sha256File(join(dir, "app.db"))).toBe(sourceHash);
      await expectAllListedBackupsWhole(dir, scratch);
    }
    // Partials from the crashes are not listed; once stale, the next backup removes them.
    const partials = folderFiles(dir).filter((f) => f.startsWith("."));
    const old = new Date(Date.now() - 2 * 3_600_000);
    for (const p of partials) utimesSync(join(dir, "backups", "app", p), old, old);
    const next = await runCli(["backup"], { cwd: dir });
    expect(next.code).toBe(0);
    expect(folderFiles(dir).filter((f) => f.startsWith("."))).toEqual([]);
    const listed = await expectAllListedBackupsWhole(dir, scratch);
    expect(listed.length).toBeGreaterThan(0);
    expect(folderFiles(dir).filter((f) => f.endsWith(".json"))).toHaveLength(listed.length);
  }, 120_000);

  for (const [step, incremental] of [
    ["backup:snapshot-taken", false],
    ["backup:data-committed", false],
    ["backup:snapshot-taken", true],
    ["backup:data-committed", true],
  ] as const)
    it(`kill -9 at ${step} (incremental = ${incremental}): nothing listed, and the next run cleans up and backs up`, async () => {
      const dir = setup(500, 1024, incremental);
      const sourceHash = sha256File(join(dir, "app.db"));
      const run = await runUntil(step, ["backup"], dir);
      await run.kill();
      expect(sha256File(join(dir, "app.db"))).toBe(sourceHash);
      expect(await expectAllListedBackupsWhole(dir, tempDir())).toEqual([]);
      // What the dead run left (temporaries, or the data file or map without its manifest) is a partial until
      // stale; packs it finished are unreferenced pieces, which rotate frees (see below), never backup.
      const left = folderFiles(dir).filter((f) => !f.endsWith(".json"));
      const partials = left.filter((f) => !isPiece(f));
      const pieces = left.filter(isPiece);
      expect(partials.length).toBeGreaterThan(0);
      const old = new Date(Date.now() - 2 * 3_600_000);
      for (const f of left) utimesSync(join(dir, "backups", "app", f), old, old);
      const next = await runCli(["backup", "--json"], { cwd: dir });
      expect(next.code).toBe(0);
      expect(parseJson(next.stdout).results[0].removed_partials).toHaveLength(partials.length);
      const listed = await expectAllListedBackupsWhole(dir, tempDir());
      expect(listed).toHaveLength(1);
      const id = listed[0]!.id;
      const own = folderFiles(dir).filter((f) => f.startsWith(id));
      expect(own.sort()).toEqual(incremental ? [`${id}.json`, `${id}.map.zst`] : [`${id}.json`, `${id}.sqlite.zst`]);
      // Beside it: only packs (those it wrote, and the dead run's, which nothing references).
      const manifest = JSON.parse(readFileSync(join(dir, "backups", "app", `${id}.json`), "utf8"));
      const named = (manifest.stored.packs ?? []).map((x: { name: string }) => x.name);
      for (const piece of pieces) expect(named).not.toContain(piece);
      expect(folderFiles(dir).filter((f) => !f.startsWith(id) && !isPiece(f))).toEqual([]);
      if (!incremental) expect(pieces).toEqual([]);
    });

  it("fails cleanly on a read-only backup folder, keeping what is there; backs up once it is writable", async () => {
    const dir = setup();
    handToNobody(dir);
    chmodSync(dir, 0o755);
    expect((await runCli(["backup"], { cwd: dir, prefix: AS_NOBODY })).code).toBe(0);
    const folder = join(dir, "backups", "app");
    const before = folderFiles(dir).sort();
    chmodSync(folder, 0o555);
    const r = await runCli(["backup"], { cwd: dir, prefix: AS_NOBODY });
    expectCleanFailure(r, 1, `app: backup failed: cannot take the lock in ${folder}: permission denied`);
    expect(folderFiles(dir).sort()).toEqual(before);
    expect(await expectAllListedBackupsWhole(dir, tempDir())).toHaveLength(1);
    chmodSync(folder, 0o700);
    expect((await runCli(["backup"], { cwd: dir, prefix: AS_NOBODY })).code).toBe(0);
    expect(await expectAllListedBackupsWhole(dir, tempDir())).toHaveLength(2);
    await expectVerifyAllPasses(dir, AS_NOBODY);
  });

  for (const incremental of [false, true])
    itWithTmpfs(
      import.meta.path,
      `fails cleanly on a full disk, leaving nothing behind (incremental = ${incremental})`,
      async () => {
        const dir = setup(400, 8192, incremental); // ~3.3 MiB raw
        const backups = join(dir, "backups");
        mkdirSync(backups);
        mountTmpfs(backups, "1m");
        try {
          const sourceHash = sha256File(join(dir, "app.db"));
          const r = await runCli(["backup"], { cwd: dir });
          expect(r.code).toBe(1);
          expect(r.stderr).toMatch(/no space left on device|database or disk is full/);
          expect(r.stderr).not.toContain("    at ");
          expect(folderFiles(dir)).toEqual([]);
          expect(sha256File(join(dir, "app.db"))).toBe(sourceHash);
        } finally {
          unmountTmpfs(backups);
        }
      },
    );

  it("two backups of the same database at once, under a writer: both succeed, both whole", async () => {
    const dir = setup(2000, 1024);
    const writer = Bun.spawn(["bun", join(import.meta.dir, "../helpers/writer.ts"), join(dir, "app.db")], {
      stdout: "pipe",
      stderr: "pipe",
    });
    let runs: Awaited<ReturnType<typeof runCli>>[];
    try {
      await writer.stderr.getReader().read();
      runs = await Promise.all([
        runCli(["backup"], { cwd: dir }),
        runCli(["backup"], { cwd: dir }),
        runCli(["backup"], { cwd: dir }),
      ]);
    } finally {
      writer.kill("SIGTERM");
    }
    const { errors } = JSON.parse(await new Response(writer.stdout).text());
    expect(errors).toEqual([]);
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    const listed = await expectAllListedBackupsWhole(dir, tempDir());
    expect(listed).toHaveLength(3);
    expect(integrityCheck(join(dir, "app.db"))).toBe("ok");
  }, 60_000);

  it("handles a backup folder path with spaces and unicode", async () => {
    const dir = setup();
    const r = await runCli(["backup", "--backup-dir", "Backups für Ärzte/nächtlich ☃"], { cwd: dir });
    expect(r.code).toBe(0);
    const list = await runCli(["list", "--json", "--backup-dir", "Backups für Ärzte/nächtlich ☃"], { cwd: dir });
    expect(parseJson(list.stdout).backups[0].file).toContain("Backups für Ärzte/nächtlich ☃/app/");
  });

  it("backs up odd databases: page sizes 512 and 65536, empty, non-UTF-8 text", async () => {
    const dir = tempDir();
    for (const [name, setupSql] of [
      ["p512", "PRAGMA page_size = 512; CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(3000));"],
      ["p64k", "PRAGMA page_size = 65536; CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(300000));"],
      ["empty", "PRAGMA user_version = 0;"],
      ["latin1", "CREATE TABLE t(x TEXT); INSERT INTO t VALUES (CAST(x'48e9e9ff' AS TEXT));"],
    ] as const) {
      const db = new Database(join(dir, `${name}.db`), { create: true });
      db.exec(setupSql);
      db.close();
    }
    const r = await runCli(["backup", "p512.db", "p64k.db", "empty.db", "latin1.db", "--json"], { cwd: dir });
    expect(r.code).toBe(0);
    const results = parseJson(r.stdout).results;
    expect(results.every((x: { ok: boolean }) => x.ok)).toBe(true);
    const listed = await expectAllListedBackupsWhole(dir, tempDir());
    expect(listed).toHaveLength(4);
    const latin = listed.find((b) => b.id.startsWith("latin1-"))!;
    rebuildBackup(latin, join(dir, "l.db"));
    expect(queryAll(join(dir, "l.db"), "SELECT hex(x) AS h FROM t")).toEqual([{ h: "48E9E9FF" }]);
  });

  it("backs up a rollback-mode database with a hot journal left by a crashed writer, without touching it", async () => {
    const dir = setup(200, 256);
    const db = join(dir, "app.db");
    // A crashed writer: a child commits half a transaction and is killed, leaving a hot journal.
    const child = Bun.spawn(
      [
        "bun",
        "-e",
        `
      const { Database } = require("bun:sqlite");
      const db = new Database(${JSON.stringify(db)});
      db.run("PRAGMA cache_size = 1");
      db.run("BEGIN IMMEDIATE");
      db.run("UPDATE items SET name = 'half-done'");
      db.run("INSERT INTO items (name, payload) SELECT name, payload FROM items");
      console.log("ready");
      setInterval(() => {}, 1000);
    `,
      ],
      { stdout: "pipe" },
    );
    try {
      await child.stdout.getReader().read();
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
    const hot = Bun.file(`${db}-journal`).size;
    expect(hot).toBeGreaterThan(0);
    const r = await runCli(["backup", "--json"], { cwd: dir });
    // The snapshot opens the database read-only; SQLite rolls a hot journal back only with write access.
    if (r.code === 0) {
      const listed = await expectAllListedBackupsWhole(dir, tempDir());
      const out = join(dir, "r.db");
      Bun.spawnSync(["zstd", "-d", "-q", "-f", listed[0]!.file, "-o", out]);
      expect(queryAll(out, "SELECT count(*) AS c FROM items WHERE name = 'half-done'")).toEqual([{ c: 0 }]);
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain("    at ");
      expect(await expectAllListedBackupsWhole(dir, tempDir())).toEqual([]);
    }
  });
});
