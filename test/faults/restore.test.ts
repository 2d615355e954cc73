/**
 * Fault injection for `restore`, through the compiled binary: kill -9 at each
 * named step (the pause hook of src/lib/system/test-pause.ts; test/e2e/restore-kill
 * covers kills spread by timing) and a full disk beside the target. The target
 * must be wholly the old database or wholly the new one, every listed backup
 * must stay whole, and the next run must finish the job by itself.
 */
import { describe, expect, it } from "bun:test";
import { mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  backupNow,
  createAppDatabase,
  exec,
  listBackups,
  makeProject,
  type Project,
  rows,
  sha256File,
} from "../helpers/backups.ts";
import { expectAllListedBackupsWhole, expectCleanFailure, expectVerifyAllPasses } from "../helpers/check-backups.ts";
import { runUntil } from "../helpers/pause.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { itWithTmpfs, mountTmpfs, unmountTmpfs } from "../helpers/tmpfs.ts";

type State = { c: number; n: number; ok: string };
const OLD = { c: 130, n: 2, ok: "ok" };
const NEW = { c: 100, n: 1, ok: "ok" };

const state = (db: string) =>
  rows(
    db,
    "SELECT (SELECT count(*) FROM items) AS c, (SELECT n FROM counter) AS n, " +
      "(SELECT group_concat(integrity_check) FROM pragma_integrity_check) AS ok",
  )[0] as State;
const temps = (dir: string) => readdirSync(dir).filter((n) => n.startsWith(".app.db."));

/**
 * A backup of the "new" state (100 rows, n = 1), then the live database moved on to the "old" one (130 rows, n = 2).
 */
async function project(): Promise<Project> {
  const p = makeProject({ rows: 100, payloadBytes: 2000 });
  exec(p.db, "UPDATE counter SET n = 1");
  await backupNow(p);
  exec(p.db, "INSERT INTO items (name, payload) SELECT 'old-' || id, randomblob(100) FROM items WHERE id <= 30");
  exec(p.db, "UPDATE counter SET n = 2");
  expect(state(p.db)).toEqual(OLD);
  return p;
}

describe("restore killed at each step", () => {
  it.each([
    ["restore:copy-ready", "old", 0],
    ["restore:pre-restore-taken", "old", 1],
    ["restore:renamed", "new", 1],
  ])(
    "kill -9 at %s leaves the target wholly the %s database, backups whole, and the next run finishes",
    async (step, which, preRestores) => {
      const p = await project();
      const run = await runUntil(step, ["restore", "app", "--latest", "--yes", "--pre-restore", "backup"], p.dir);
      await run.kill();
      expect(state(p.db)).toEqual(which === "old" ? OLD : NEW);
      const listed = await expectAllListedBackupsWhole(p.dir, tempDir());
      expect(
        listed.filter((b) => b.id.startsWith("app-") && (b as { kind?: string }).kind === "pre-restore"),
      ).toHaveLength(preRestores);
      await expectVerifyAllPasses(p.dir);
      if (preRestores === 1) {
        // The pre-restore backup holds the old state: it is a way back even after the crash.
        const pre = (await listBackups(p)).find((b) => b.kind === "pre-restore")!;
        const copy = join(tempDir(), "pre.db");
        expect((await runCli(["restore", "app", "--id", pre.id, "--to", copy, "--yes"], { cwd: p.dir })).code).toBe(0);
        expect(state(copy)).toEqual(OLD);
      }
      // The next run takes the lock the dead one held, removes its leftovers and restores.
      const next = await runCli(["restore", "app", "--latest", "--yes", "--pre-restore", "backup"], { cwd: p.dir });
      expect(next.stderr).not.toContain("[error]");
      expect(next.code).toBe(0);
      expect(state(p.db)).toEqual(NEW);
      expect(temps(p.dir)).toEqual([]);
      await expectVerifyAllPasses(p.dir);
    },
  );
});

describe("restore killed while it holds the live database", () => {
  it("leaves the live database byte for byte as it was, still in WAL mode, and the next run finishes", async () => {
    // A killed restore used to leave a WAL database switched to rollback mode (its header rewritten).
    const p = await project();
    expect(rows(p.db, "PRAGMA journal_mode")[0]).toEqual({ journal_mode: "wal" });
    const before = sha256File(p.db);
    const run = await runUntil(
      "restore:target-held",
      ["restore", "app", "--latest", "--yes", "--pre-restore", "backup"],
      p.dir,
    );
    await run.kill();
    expect(sha256File(p.db)).toBe(before);
    expect(state(p.db)).toEqual(OLD);
    expect(rows(p.db, "PRAGMA journal_mode")[0]).toEqual({ journal_mode: "wal" });
    const next = await runCli(["restore", "app", "--latest", "--yes", "--pre-restore", "backup"], { cwd: p.dir });
    expect(next.code).toBe(0);
    expect(state(p.db)).toEqual(NEW);
    expect(temps(p.dir)).toEqual([]);
  });
});

describe("restore on a full disk", () => {
  itWithTmpfs(
    import.meta.path,
    "fails with exit 1 and one clear line, the target untouched and nothing left beside it; " +
      "succeeds once there is room",
    async () => {
      const dir = tempDir();
      const live = join(dir, "live");
      mkdirSync(live);
      mountTmpfs(live, "16m");
      try {
        const db = createAppDatabase(join(live, "app.db"), 500, 8192); // ~4.3 MiB
        writeFileSync(
          join(dir, "sqlbak.toml"),
          `backup_dir = "backups"\n[[database]]\nname = "app"\npath = "live/app.db"\n`,
        );
        expect((await runCli(["backup"], { cwd: dir })).code).toBe(0);
        exec(db, "DELETE FROM items WHERE id > 20");
        exec(db, "VACUUM");
        const before = sha256File(db);
        // Leave 1 MiB free: the old database fits, the decompressed backup does not.
        const fs = statfsSync(live);
        writeFileSync(join(live, "filler"), new Uint8Array(fs.bavail * fs.bsize - 1024 * 1024));
        const r = await runCli(["restore", "app", "--latest", "--yes", "--pre-restore", "backup"], { cwd: dir });
        expectCleanFailure(r, 1, /no space left on device/);
        expect(r.stderr).not.toContain("damaged");
        expect(sha256File(db)).toBe(before);
        expect(temps(live)).toEqual([]);
        expect((await expectAllListedBackupsWhole(dir, tempDir())).map((b) => (b as { kind?: string }).kind)).toEqual([
          "manual",
        ]);
        await expectVerifyAllPasses(dir);
        rmSync(join(live, "filler"));
        const next = await runCli(["restore", "app", "--latest", "--yes", "--pre-restore", "backup"], { cwd: dir });
        expect(next.code).toBe(0);
        expect(rows(db, "SELECT count(*) AS c FROM items")).toEqual([{ c: 500 }]);
      } finally {
        unmountTmpfs(live);
      }
    },
    60_000,
  );
});

describe("verify on a full backup volume", () => {
  itWithTmpfs(
    import.meta.path,
    "checks in the system temp dir instead (exit 0, recorded); " +
      "with no room there either, exit 1 and no failed verification recorded",
    async () => {
      const p = makeProject({ rows: 500, payloadBytes: 8192 }); // ~4.3 MiB raw, barely compressible
      const backups = join(p.dir, "backups");
      const tmp = join(p.dir, "tmp");
      mkdirSync(backups);
      mkdirSync(tmp);
      mountTmpfs(backups, "16m");
      mountTmpfs(tmp, "1m");
      try {
        const b = await backupNow(p);
        const fs = statfsSync(backups);
        writeFileSync(join(backups, "filler"), new Uint8Array(fs.bavail * fs.bsize - 1024 * 1024));
        // The temp dir is too small as well: no verdict on the backup.
        const r = await runCli(["verify", b.id], { cwd: p.dir, env: { TMPDIR: tmp } });
        expectCleanFailure(r, 1, /cannot write decompressed copy .*: no space left on device/);
        expect(JSON.parse(await Bun.file(b.manifest).text()).verifications).toEqual([]);
        expect(readdirSync(p.folder).filter((n) => n.endsWith(".tmp"))).toEqual([]);
        expect(readdirSync(tmp)).toEqual([]);
        // With room in the temp dir, the full backup volume no longer stops verify.
        const big = join(p.dir, "bigtmp");
        mkdirSync(big);
        const ok = await runCli(["verify", b.id], { cwd: p.dir, env: { TMPDIR: big } });
        expect(ok.code).toBe(0);
        expect(JSON.parse(await Bun.file(b.manifest).text()).verifications).toMatchObject([
          { ok: true, level: "quick" },
        ]);
        expect(readdirSync(big)).toEqual([]);
        expect(readdirSync(p.folder).filter((n) => n.endsWith(".tmp"))).toEqual([]);
        rmSync(join(backups, "filler"));
        await expectVerifyAllPasses(p.dir);
      } finally {
        unmountTmpfs(tmp);
        unmountTmpfs(backups);
      }
    },
    60_000,
  );
});
