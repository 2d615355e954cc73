/**
 * kill -9 of `restore` at many points: the target must be wholly the old
 * database or wholly the new one, never a mix, and whenever it is the new one
 * the pre-restore backup of the old one must be listed.
 */
import { describe, expect, it } from "bun:test";
import { readdirSync } from "node:fs";
import { BIN, cleanEnv, runCli } from "../helpers/run-cli.ts";
import { backupNow, exec, listBackups, makeProject, rows } from "../helpers/backups.ts";

const ITERATIONS = 10;

describe("sqlbak restore under kill -9", () => {
  it("leaves the old or the new database, never a mix, and a pre-restore backup whenever it is the new one", async () => {
    // ~5 MB of random payload: large enough that a restore takes a few hundred ms.
    const p = makeProject({ rows: 2000, payloadBytes: 2500 });
    exec(p.db, "UPDATE counter SET n = 1");
    await backupNow(p); // the "new" state: 2000 rows, n = 1
    const makeOld = () => {
      exec(p.db, "INSERT INTO items (name, payload) SELECT 'old-' || id, randomblob(100) FROM items WHERE id <= 100");
      exec(p.db, "UPDATE counter SET n = 2");
    };
    makeOld(); // the live "old" state: 2100 rows, n = 2
    const state = () => rows(p.db, "SELECT (SELECT count(*) FROM items) AS c, (SELECT n FROM counter) AS n, (SELECT group_concat(integrity_check) FROM pragma_integrity_check) AS ok")[0] as { c: number; n: number; ok: string };

    const t0 = Date.now();
    const full = await runCli(["restore", "app", "--latest", "--yes"], { cwd: p.dir });
    expect(full.code).toBe(0);
    const fullMs = Date.now() - t0;
    expect(state()).toEqual({ c: 2000, n: 1, ok: "ok" });

    const seen = { old: 0, new: 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      if (state().c === 2000) makeOld(); // the previous run got as far as the new database
      const presBefore = (await listBackups(p)).filter((b) => b.kind === "pre-restore").length;
      const proc = Bun.spawn([BIN, "restore", "app", "--latest", "--yes"], { cwd: p.dir, env: cleanEnv({}, p.dir), stdout: "ignore", stderr: "ignore", stdin: "ignore" });
      // Spread the kills, with jitter, from start-up to a little past a whole run.
      await Bun.sleep(Math.max(1, Math.round(1.3 * fullMs * ((i + Math.random()) / ITERATIONS))));
      proc.kill(9);
      await proc.exited;
      const s = state();
      if (s.c === 2100) {
        expect(s).toEqual({ c: 2100, n: 2, ok: "ok" });
        seen.old++;
      } else {
        expect(s).toEqual({ c: 2000, n: 1, ok: "ok" });
        const presAfter = (await listBackups(p)).filter((b) => b.kind === "pre-restore").length;
        expect(presAfter).toBe(presBefore + 1);
        seen.new++;
      }
    }
    expect(seen.old + seen.new).toBe(ITERATIONS);
    // A run that finishes cleans up what the killed ones left beside the target.
    if (state().c === 2000) makeOld();
    expect((await runCli(["restore", "app", "--latest", "--yes"], { cwd: p.dir })).code).toBe(0);
    expect(state()).toEqual({ c: 2000, n: 1, ok: "ok" });
    expect(readdirSync(p.dir).filter((n) => n.startsWith(".app.db."))).toEqual([]);
    console.log(`kill -9 outcomes over ${ITERATIONS} runs (full run ${fullMs} ms): old ${seen.old}, new ${seen.new}`);
  }, 120_000);
});
