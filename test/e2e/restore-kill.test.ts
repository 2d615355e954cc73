/**
 * kill -9 of `restore` at many points: the target must be wholly the old
 * database or wholly the new one, never a mix, and whenever it is the new one
 * the pre-restore backup of the old one must be listed (--pre-restore backup;
 * the kept copy by rename: restore-kept.test.ts). "Wholly" is checked
 * by the file's SHA-256 against both states; kills at the named steps (the
 * pause hook) make sure both outcomes really occur.
 */
import { describe, expect, it } from "bun:test";
import { readdirSync } from "node:fs";
import { backupNow, exec, listBackups, makeProject, type Project, rows, sha256File } from "../helpers/backups.ts";
import { runUntil } from "../helpers/pause.ts";
import { BIN, cleanEnv, runCli } from "../helpers/run-cli.ts";

const ITERATIONS = 10;

describe("sqlbak restore under kill -9", () => {
  it(`leaves the old or the new database, never a mix, \
and a pre-restore backup whenever it is the new one`, async () => {
    // ~5 MB of random payload: large enough that a restore takes a few hundred ms.
    const p = makeProject({ rows: 2000, payloadBytes: 2500 });
    exec(p.db, "UPDATE counter SET n = 1");
    await backupNow(p); // the "new" state: 2000 rows, n = 1
    const makeOld = () => {
      exec(p.db, "INSERT INTO items (name, payload) SELECT 'old-' || id, randomblob(100) FROM items WHERE id <= 100");
      exec(p.db, "UPDATE counter SET n = 2");
    };
    makeOld(); // the live "old" state: 2100 rows, n = 2
    const state = () =>
      rows(
        p.db,
        "SELECT (SELECT count(*) FROM items) AS c, (SELECT n FROM counter) AS n, " +
          "(SELECT group_concat(integrity_check) FROM pragma_integrity_check) AS ok",
      )[0] as { c: number; n: number; ok: string };

    const t0 = Date.now();
    const full = await runCli(["restore", "app", "--latest", "--yes", "--pre-restore", "backup"], { cwd: p.dir });
    expect(full.code).toBe(0);
    const fullMs = Date.now() - t0;
    expect(state()).toEqual({ c: 2000, n: 1, ok: "ok" });

    const newHash = sha256File(p.db);
    const preRestores = async () => (await listBackups(p)).filter((b) => b.kind === "pre-restore").length;

    const seen = { old: 0, new: 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      if (sha256File(p.db) === newHash) makeOld(); // the previous run got as far as the new database
      const oldHash = sha256File(p.db);
      expect(oldHash).not.toBe(newHash);
      const presBefore = await preRestores();
      const proc = Bun.spawn([BIN, "restore", "app", "--latest", "--yes", "--pre-restore", "backup"], {
        cwd: p.dir,
        env: cleanEnv({}, p.dir),
        stdout: "ignore",
        stderr: "ignore",
        stdin: "ignore",
      });
      try {
        // Spread the kills, with jitter, from start-up to a little past a whole run.
        await Bun.sleep(Math.max(1, Math.round(1.3 * fullMs * ((i + Math.random()) / ITERATIONS))));
      } finally {
        proc.kill(9);
        await proc.exited;
      }
      const h = sha256File(p.db);
      expect([oldHash, newHash]).toContain(h);
      if (h === oldHash) {
        expect(state()).toEqual({ c: 2100, n: 2, ok: "ok" });
        seen.old++;
      } else {
        expect(state()).toEqual({ c: 2000, n: 1, ok: "ok" });
        expect(await preRestores()).toBe(presBefore + 1);
        seen.new++;
      }
    }
    // A run that finishes cleans up what the killed ones left beside the target.
    if (sha256File(p.db) === newHash) makeOld();
    expect(
      (await runCli(["restore", "app", "--latest", "--yes", "--pre-restore", "backup"], { cwd: p.dir })).code,
    ).toBe(0);
    expect(sha256File(p.db)).toBe(newHash);
    expect(state()).toEqual({ c: 2000, n: 1, ok: "ok" });
    expect(readdirSync(p.dir).filter((n) => n.startsWith(".app.db."))).toEqual([]);
    console.log(`kill -9 outcomes over ${ITERATIONS} runs (full run ${fullMs} ms): old ${seen.old}, new ${seen.new}`);
  }, 120_000);

  it(`kill -9 at each step: old up to the pre-restore backup, new once renamed, \
and the next run finishes`, async () => {
    const p = makeProject({ rows: 300, payloadBytes: 512 });
    exec(p.db, "UPDATE counter SET n = 1");
    await backupNow(p);
    const args = ["restore", "app", "--latest", "--yes", "--pre-restore", "backup"];
    expect((await runCli(args, { cwd: p.dir })).code).toBe(0);
    const newHash = sha256File(p.db);
    const preRestores = async (q: Project) => (await listBackups(q)).filter((b) => b.kind === "pre-restore").length;
    for (const [step, expected, preRestoreAdded] of [
      ["restore:copy-ready", "old", 0],
      ["restore:pre-restore-taken", "old", 1],
      ["restore:renamed", "new", 1],
    ] as const) {
      exec(
        p.db,
        `INSERT INTO items (name, payload) SELECT 'old-${step}-' || id, randomblob(100) FROM items WHERE id <= 10`,
      );
      exec(p.db, "UPDATE counter SET n = 2");
      const oldHash = sha256File(p.db);
      expect(oldHash).not.toBe(newHash);
      const presBefore = await preRestores(p);
      const run = await runUntil(step, args, p.dir);
      await run.kill();
      expect([step, sha256File(p.db)]).toEqual([step, expected === "old" ? oldHash : newHash]);
      expect([step, await preRestores(p)]).toEqual([step, presBefore + preRestoreAdded]);
      const next = await runCli(args, { cwd: p.dir });
      expect([step, next.code]).toEqual([step, 0]);
      expect(sha256File(p.db)).toBe(newHash);
      expect(readdirSync(p.dir).filter((n) => n.startsWith(".app.db."))).toEqual([]);
    }
  }, 60_000);
});
