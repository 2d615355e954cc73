/** Hooks around a backup (docs/hooks.md) through the compiled binary: order, variables, failures, timeout, secrets, op log. */
import { describe, expect, it } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { BIN, cleanEnv, runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { webhook } from "../helpers/webhook.ts";

/** A project with one database "app" and the given `[hooks]` / `[database.hooks]` lines. */
function setup(opts: { hooks?: string; dbHooks?: string; top?: string } = {}) {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 20 });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"
${opts.top ?? ""}
[hooks]
${opts.hooks ?? ""}
[[database]]
name = "app"
path = "app.db"
${opts.dbHooks ? `[database.hooks]\n${opts.dbHooks}` : ""}
`,
  );
  return dir;
}

/** Lines of an `env` dump as a map. */
function envOf(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

type LogEntry = { op: string; hook?: string; ok: boolean; stdout?: string; stderr?: string; [k: string]: unknown };
const opLog = (dir: string): LogEntry[] =>
  readFileSync(join(dir, "backups", "sqlbak.log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

/** A process's state letter from /proc (R, S, Z, ...), or "gone". */
function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0]!;
  } catch {
    return "gone";
  }
}

async function listed(dir: string): Promise<unknown[]> {
  const list = await runCli(["list", "--json"], { cwd: dir });
  expect(list.code).toBe(0);
  return parseJson(list.stdout).backups;
}

describe("backup hooks", () => {
  it("a failing before_backup skips the backup, exits 1 and sends backup.failure", async () => {
    const hook = webhook<{ event: string; database?: string; error?: string }>();
    const dir = setup({
      top: `[notify]\non = ["failure"]\nwebhook = "${hook.url}"`,
      hooks: `before_backup = "echo stopping app; echo cannot stop app >&2; exit 3"\non_error = "env > on-error.env"`,
    });
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "app: backup failed: before_backup hook failed: exited 3: cannot stop app; backup skipped",
    );
    expect(await listed(dir)).toEqual([]);
    expect(hook.events.map((e) => e.event)).toEqual(["backup.failure"]);
    expect(hook.events[0]!.database).toBe("app");
    expect(hook.events[0]!.error).toContain("before_backup hook failed: exited 3");
    // on_error runs after a skipped backup too, with the error.
    const env = envOf(join(dir, "on-error.env"));
    expect(env.SQLBAK_HOOK).toBe("on_error");
    expect(env.SQLBAK_ERROR).toContain("before_backup hook failed");
    expect(env.SQLBAK_EXIT_CODE).toBe("1");
    const log = opLog(dir).filter((e) => e.op !== "notify");
    expect(log.map((e) => [e.op, e.hook ?? null, e.ok])).toEqual([
      ["hook", "before_backup", false],
      ["backup", null, false],
      ["hook", "on_error", true],
    ]);
  });

  it("after_backup gets the backup's id, file and sizes; before_backup runs first", async () => {
    const dir = setup({
      hooks: `before_backup = "echo before >> order.txt"\nafter_backup = "echo after >> order.txt; env > after.env"`,
    });
    const r = await runCli(["backup", "--tag", "pre-migrate,x1"], { cwd: dir });
    expect(r.code).toBe(0);
    const [entry] = (await listed(dir)) as {
      id: string;
      file: string;
      stored: { size: number };
      raw: { size: number };
    }[];
    expect(entry).toBeDefined();
    expect(readFileSync(join(dir, "order.txt"), "utf8")).toBe("before\nafter\n");
    const env = envOf(join(dir, "after.env"));
    expect(env).toMatchObject({
      SQLBAK_HOOK: "after_backup",
      SQLBAK_DATABASE: "app",
      SQLBAK_PATH: join(dir, "app.db"),
      SQLBAK_KIND: "manual",
      SQLBAK_TAGS: "pre-migrate,x1",
      SQLBAK_ID: entry!.id,
      SQLBAK_BACKUP_DIR: join(dir, "backups"),
    });
    expect(Number(env.SQLBAK_RAW_SIZE)).toBe(entry!.raw.size);
    expect(Number(env.SQLBAK_STORED_SIZE)).toBeGreaterThan(0);
    expect(env.SQLBAK_FILE).toBeTruthy();
    expect(existsSync(env.SQLBAK_FILE!)).toBe(true);
    expect(env.SQLBAK_ERROR).toBeUndefined();
  });

  it("on_error runs after a failed backup, after_backup does not; a database's hook replaces the global one", async () => {
    const dir = setup({
      hooks: `on_error = "echo global > global.txt"\nafter_backup = "touch after.txt"`,
      dbHooks: `on_error = "env > on-error.env"`,
    });
    writeFileSync(join(dir, "app.db"), "this is not a database, it is long enough to be read as one ".repeat(100));
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(1);
    const env = envOf(join(dir, "on-error.env"));
    expect(env.SQLBAK_HOOK).toBe("on_error");
    expect(env.SQLBAK_DATABASE).toBe("app");
    expect(env.SQLBAK_ERROR).toContain("not a SQLite database");
    expect(existsSync(join(dir, "global.txt"))).toBe(false);
    expect(existsSync(join(dir, "after.txt"))).toBe(false);
  });

  it("kills a hook that outlives hooks.timeout, with what it started, and skips the backup", async () => {
    const dir = setup({ hooks: `timeout = "1s"\nbefore_backup = "sleep 60 & echo $! > child.pid; wait"` });
    const t0 = Date.now();
    const r = await runCli(["backup"], { cwd: dir });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("before_backup hook failed: timed out after 1000 ms");
    expect(await listed(dir)).toEqual([]);
    const pid = Number(readFileSync(join(dir, "child.pid"), "utf8"));
    expect(pid).toBeGreaterThan(0);
    await Bun.sleep(100);
    // The background sleep was in the hook's process group: killed with it (gone, or a zombie where
    // PID 1 does not reap orphans, as in some containers).
    expect(processState(pid)).toMatch(/^(gone|Z)$/);
    const entry = opLog(dir).find((e) => e.op === "hook")!;
    expect(entry).toMatchObject({ hook: "before_backup", ok: false, timed_out: true, exit_code: null });
  });

  it("a run stopped by its --timeout kills the hook that is running", async () => {
    const dir = setup({ hooks: `before_backup = "sleep 60 & echo $! > child.pid; wait"` });
    const r = await runCli(["backup", "--timeout", "2s"], { cwd: dir });
    expect(r.code).toBe(5);
    const pid = Number(readFileSync(join(dir, "child.pid"), "utf8"));
    await Bun.sleep(100);
    expect(processState(pid)).toMatch(/^(gone|Z)$/);
  });

  it("sqlbak killed by SIGTERM or SIGINT while a hook runs kills the hook too, and dies of the signal", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const dir = setup({ hooks: `before_backup = "sleep 60 & echo $! > child.pid; wait"` });
      const proc = Bun.spawn([BIN, "backup"], { cwd: dir, env: cleanEnv({}, dir), stderr: "pipe", stdout: "pipe" });
      const pidFile = join(dir, "child.pid");
      for (let i = 0; i < 100 && !(existsSync(pidFile) && readFileSync(pidFile, "utf8").trim()); i++)
        await Bun.sleep(50);
      const pid = Number(readFileSync(pidFile, "utf8"));
      proc.kill(signal);
      await proc.exited;
      expect({ signal, by: proc.signalCode }).toEqual({ signal, by: signal });
      await Bun.sleep(100);
      expect(processState(pid)).toMatch(/^(gone|Z)$/);
    }
  });

  it("never passes a secret: not the config's secret variables, not AWS_*, not unlisted ones; hooks.env is passed", async () => {
    const dir = setup({
      top: `[encryption]\npassphrase_env = "APP_PASS"`,
      hooks: `env = ["APP_SERVICE"]\nbefore_backup = "env > before.env"`,
    });
    const r = await runCli(["backup"], {
      cwd: dir,
      env: {
        APP_PASS: "passphrase-value-long-enough",
        AWS_SECRET_ACCESS_KEY: "aws-secret",
        UNLISTED_VAR: "x",
        APP_SERVICE: "app.service",
      },
    });
    expect(r.code).toBe(0);
    const env = envOf(join(dir, "before.env"));
    expect(env.APP_PASS).toBeUndefined();
    expect(env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
    expect(env.UNLISTED_VAR).toBeUndefined();
    expect(env.APP_SERVICE).toBe("app.service");
    expect(env.SQLBAK_DATABASE).toBe("app");
    expect(readFileSync(join(dir, "before.env"), "utf8")).not.toContain("passphrase-value-long-enough");
  });

  it("refuses hooks.env naming a secret variable (exit 2)", async () => {
    const dir = setup({ top: `[encryption]\npassphrase_env = "APP_PASS"`, hooks: `env = ["APP_PASS"]` });
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hooks.env: "APP_PASS" holds a secret (encryption.passphrase_env)');
  });

  it("writes each hook's output tails to the op log; a failing after_backup only warns", async () => {
    const dir = setup({
      hooks: `before_backup = "echo flushed queue; echo note >&2"\nafter_backup = "echo restarting; echo no such unit >&2; exit 5"`,
    });
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("app: after_backup hook failed: exited 5: no such unit");
    expect(await listed(dir)).toHaveLength(1);
    const hooks = opLog(dir).filter((e) => e.op === "hook");
    expect(hooks).toEqual([
      expect.objectContaining({
        hook: "before_backup",
        ok: true,
        exit_code: 0,
        stdout: "flushed queue\n",
        stderr: "note\n",
      }),
      expect.objectContaining({
        hook: "after_backup",
        ok: false,
        exit_code: 5,
        stdout: "restarting\n",
        stderr: "no such unit\n",
      }),
    ]);
  });

  it("the pre-migration recipe: `backup --tag pre-migrate && migrate` migrates only after a backup", async () => {
    const dir = setup({ hooks: `before_backup = "test ! -e stop"` });
    const recipe = "sqlbak backup app --tag pre-migrate && touch migrated";
    const sh = (cwd: string) =>
      Bun.spawnSync(["/bin/sh", "-c", recipe], {
        cwd,
        env: { PATH: `${join(import.meta.dir, "../../dist")}:${process.env.PATH}`, HOME: cwd },
        stderr: "pipe",
      });
    writeFileSync(join(dir, "stop"), "");
    expect(sh(dir).exitCode).toBe(1);
    expect(existsSync(join(dir, "migrated"))).toBe(false);
    expect(await listed(dir)).toEqual([]);
    Bun.spawnSync(["rm", join(dir, "stop")]);
    expect(sh(dir).exitCode).toBe(0);
    expect(existsSync(join(dir, "migrated"))).toBe(true);
    const [entry] = (await listed(dir)) as { tags: string[] }[];
    expect(entry!.tags).toEqual(["pre-migrate"]);
  });
});
