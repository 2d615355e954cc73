/**
 * `[schedule] shutdown = true` through the compiled binary: install-schedule
 * writes and enables sqlbak-shutdown.service (validated by systemd-analyze
 * where installed), the command its ExecStop= runs takes a backup tagged
 * "shutdown", and removing the key removes the unit.
 */
import { describe, expect, it } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function setup(schedule: string) {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 10 });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n[schedule]\n${schedule}\n[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  return dir;
}

/** A systemctl stand-in that records each call, one line of arguments each. */
function fakeSystemctl(dir: string): { script: string; calls: () => string[] } {
  const log = join(dir, "systemctl.log");
  const script = join(dir, "fake-systemctl");
  writeFileSync(script, `#!/bin/sh\necho "$*" >> '${log}'\n`);
  chmodSync(script, 0o755);
  return { script, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []) };
}

describe("install-schedule with [schedule] shutdown", () => {
  it("installs and enables a unit whose ExecStop= backs up, and removes it when the key goes", async () => {
    const dir = setup("shutdown = true");
    const units = join(dir, "units");
    const ctl = fakeSystemctl(dir);
    const env = { SQLBAK_SYSTEMD_DIR: units, SQLBAK_SYSTEMCTL: ctl.script };
    const r = await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(r.code).toBe(0);
    const unit = readFileSync(join(units, "sqlbak-shutdown.service"), "utf8");
    expect(ctl.calls()).toContainEqual(expect.stringMatching(/^--user enable --now .*sqlbak-shutdown\.service/));
    if (Bun.which("systemd-analyze")) expect(r.stderr).toContain("sqlbak-shutdown.service with systemd-analyze verify");

    // What systemd runs as the machine stops: a backup of every database, tagged "shutdown".
    const execStop = unit
      .split("\n")
      .find((l) => l.startsWith("ExecStop="))!
      .slice("ExecStop=".length);
    const argv = execStop.split(" ");
    const proc = Bun.spawnSync(argv, { cwd: "/", env: { PATH: process.env.PATH, HOME: dir }, stderr: "pipe" });
    expect(proc.exitCode).toBe(0);
    const list = await runCli(["list", "--json"], { cwd: dir });
    const [entry] = parseJson(list.stdout).backups;
    expect(entry).toMatchObject({ database: "app", kind: "scheduled", tags: ["shutdown"] });

    writeFileSync(
      join(dir, "sqlbak.toml"),
      readFileSync(join(dir, "sqlbak.toml"), "utf8").replace("shutdown = true", ""),
    );
    const again = await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(again.code).toBe(0);
    expect(existsSync(join(units, "sqlbak-shutdown.service"))).toBe(false);
    expect(ctl.calls()).toContain("--user disable --now sqlbak-shutdown.service");
    expect(existsSync(join(units, "sqlbak-backup.timer"))).toBe(true);
  });

  it("prints the unit with --print, and warns on a platform that has no shutdown", async () => {
    const dir = setup("shutdown = true");
    const r = await runCli(["install-schedule", "--print", "--platform", "systemd", "--system"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sqlbak-shutdown.service <==");
    expect(r.stdout).toContain("\nBefore=shutdown.target\n");
    const cron = await runCli(["install-schedule", "--print", "--platform", "cron"], { cwd: dir });
    expect(cron.code).toBe(0);
    expect(cron.stderr).toContain(
      "[schedule] shutdown: only systemd runs a backup at shutdown; cron gets no such entry",
    );
  });

  it("refuses a shutdown that is not true or false (exit 2)", async () => {
    const dir = setup('shutdown = "yes"');
    const r = await runCli(["install-schedule", "--print", "--platform", "systemd"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('schedule.shutdown: expected true or false, got "yes"');
  });
});
