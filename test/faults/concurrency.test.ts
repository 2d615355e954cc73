/**
 * Runs that overlap, through the compiled binary, with a writer hammering the
 * database throughout: backup during rotate, rotate during verify, and a mixed
 * crowd of backup / backup --rotate / rotate / verify / list at once. Every run
 * ends in success or a clear exit 4 (locked), nothing is corrupt, and every
 * backup holds one committed state of the writer. (Two backups of one database
 * at once are in backup.test.ts.)
 */
import { describe, expect, it } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { backupNow, makeProject, rows } from "../helpers/backups.ts";
import { expectAllListedBackupsWhole, expectCleanFailure, expectVerifyAllPasses } from "../helpers/check-backups.ts";
import { integrityCheck } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runUntil } from "../helpers/pause.ts";
import { type CliResult, runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const TOML = `lock_timeout = "1s"\n[retention]\nkeep_last = 2\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`;

/** The writer of test/helpers/writer.ts on `db`; stop() returns its report. */
async function startWriter(db: string) {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "../helpers/writer.ts"), db], {
    stdout: "pipe",
    stderr: "pipe",
  });
  await proc.stderr.getReader().read(); // "ready"
  return {
    async stop(): Promise<{ commits: number; errors: string[] }> {
      proc.kill("SIGTERM");
      const out = await new Response(proc.stdout).text();
      await proc.exited;
      return JSON.parse(out);
    },
  };
}

/** Every listed backup is whole and one committed state of the writer: counter.n equals its writer rows. */
async function expectWholeAndConsistent(dir: string) {
  const scratch = tempDir();
  const listed = await expectAllListedBackupsWhole(dir, scratch);
  for (const b of listed) {
    expect(
      rows(
        join(scratch, `${b.id}.db`),
        "SELECT (SELECT n FROM counter) - (SELECT count(*) FROM items WHERE name = 'writer') AS d",
      ),
    ).toEqual([{ d: 0 }]);
  }
  await expectVerifyAllPasses(dir);
  return listed;
}

const scheduled = async (p: { dir: string }, n: number) => {
  for (let i = 0; i < n; i++) expect((await runCli(["backup", "--kind", "scheduled"], { cwd: p.dir })).code).toBe(0);
};

describe("overlapping runs under a writer", () => {
  it("backup during rotate: waits, then exits 4 with one clear line; succeeds once the rotation is done", async () => {
    const p = makeProject({ rows: 500, payloadBytes: 256, toml: TOML });
    await scheduled(p, 5);
    const writer = await startWriter(p.db);
    let stopped: Awaited<ReturnType<typeof writer.stop>>;
    try {
      const rotate = await runUntil("rotate:manifest-removed@2", ["rotate"], p.dir);
      const blocked = await runCli(["backup"], { cwd: p.dir });
      expectCleanFailure(blocked, 4, /app: backup failed: database "app" is locked by rotate \(pid \d+/);
      expect(blocked.stderr).toContain("waiting for the lock held by rotate");
      const rotated = await rotate.resume();
      expect(rotated.code).toBe(0);
      expect((await runCli(["backup"], { cwd: p.dir })).code).toBe(0);
    } finally {
      stopped = await writer.stop();
    }
    const { errors } = stopped;
    expect(errors).toEqual([]);
    expect((await expectWholeAndConsistent(p.dir)).length).toBe(3); // the 2 kept scheduled + the manual one
    expect(integrityCheck(p.db)).toBe("ok");
  }, 60_000);

  it("rotate during verify: the backup removed under the verification is skipped, not failed", async () => {
    const p = makeProject({ rows: 500, payloadBytes: 256, toml: TOML });
    await scheduled(p, 1);
    const doomed = (await runCli(["list", "--json"], { cwd: p.dir })).stdout;
    const [victim] = parseJson(doomed).backups;
    await scheduled(p, 2);
    const writer = await startWriter(p.db);
    let stopped: Awaited<ReturnType<typeof writer.stop>>;
    try {
      const verify = await runUntil("verify:decompressed", ["verify", victim.id], p.dir);
      const rotated = await runCli(["rotate", "--json"], { cwd: p.dir });
      expect(rotated.code).toBe(0);
      expect(parseJson(rotated.stdout).results[0].removed).toEqual([victim.id]);
      const verified = await verify.resume();
      expect(verified.stderr).toContain(`${victim.id}: removed by another run while being verified; skipped`);
      expect(verified.code).toBe(0);
      expect(readdirSync(p.folder).filter((n) => n.startsWith(victim.id) || n.endsWith(".tmp"))).toEqual([]);
    } finally {
      stopped = await writer.stop();
    }
    const { errors } = stopped;
    expect(errors).toEqual([]);
    expect(await expectWholeAndConsistent(p.dir)).toHaveLength(2);
  }, 60_000);

  it(`a crowd of backup, backup --rotate, rotate, verify and list at once: each ends 0 or a clear 4, \
nothing corrupt`, async () => {
    const p = makeProject({ rows: 1000, payloadBytes: 512, toml: TOML });
    await backupNow(p);
    const writer = await startWriter(p.db);
    const outcomes: { args: string[]; r: CliResult }[] = [];
    const run = async (args: string[]) => outcomes.push({ args, r: await runCli(args, { cwd: p.dir }) });
    let stopped: Awaited<ReturnType<typeof writer.stop>>;
    try {
      for (let round = 0; round < 4; round++) {
        await Promise.all(
          [
            ["backup"],
            ["backup", "--rotate"],
            ["backup", "--rotate"],
            ["rotate"],
            ["verify", "--all"],
            ["list", "--json"],
          ].map(run),
        );
      }
    } finally {
      stopped = await writer.stop();
    }
    const { commits, errors } = stopped;
    expect(errors).toEqual([]);
    expect(commits).toBeGreaterThan(0);
    for (const { args, r } of outcomes) {
      if (r.code === 4) expectCleanFailure(r, 4, /database "app" is locked/);
      else
        expect({ args, code: r.code, stderr: r.stderr.includes("[error]") ? r.stderr : "" }).toEqual({
          args,
          code: 0,
          stderr: "",
        });
    }
    expect(outcomes.filter((o) => o.r.code === 0).length).toBeGreaterThan(0);
    const listed = await expectWholeAndConsistent(p.dir);
    expect(listed.length).toBeGreaterThan(1);
    expect(integrityCheck(p.db)).toBe("ok");
    console.log(
      `crowd: ${outcomes.filter((o) => o.r.code === 0).length} runs ok, ` +
        `${outcomes.filter((o) => o.r.code === 4).length} locked, ${commits} writer commits`,
    );
  }, 120_000);
});
