/** `install-schedule` through the compiled binary: print, apply/uninstall round trips, config errors. */
import { describe, expect, it } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function setup(schedule = "") {
  const dir = tempDir();
  writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "backups"\n${schedule}\n[[database]]\nname = "app"\npath = "app.db"\n`);
  return dir;
}

/** A stand-in for the crontab CLI with its contract: `-l` prints (exit 1 when none), `-` replaces from stdin. */
function fakeCrontab(dir: string, initial?: string): { env: Record<string, string>; file: string } {
  const file = join(dir, "crontab.txt");
  if (initial !== undefined) writeFileSync(file, initial);
  const script = join(dir, "fake-crontab");
  writeFileSync(
    script,
    `#!/bin/sh\ncase "$1" in\n  -l) [ -f '${file}' ] && exec cat '${file}'; echo "no crontab for $(id -un)" >&2; exit 1 ;;\n  -) cat > '${file}' ;;\n  *) exit 2 ;;\nesac\n`,
  );
  chmodSync(script, 0o755);
  return { env: { SQLBAK_CRONTAB: script }, file };
}

describe("sqlbak install-schedule", () => {
  it("prints a cron block with absolute paths, and next runs on stderr", async () => {
    const dir = setup();
    const r = await runCli(["install-schedule", "--print", "--platform", "cron"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("# BEGIN sqlbak (managed by sqlbak install-schedule)\n");
    expect(r.stdout).toContain(`0 2 * * * ${BIN} backup --rotate --config ${join(dir, "sqlbak.toml")} --quiet\n`);
    expect(r.stdout).toContain(`0 3 * * 0 ${BIN} verify --random --config ${join(dir, "sqlbak.toml")} --quiet\n`);
    expect(r.stdout).toContain(`0 */6 * * * ${BIN} stats --check --config ${join(dir, "sqlbak.toml")} --quiet\n`);
    expect(r.stderr).toMatch(/backup \(0 2 \* \* \*\) next runs, .+: \w{3} \d{4}-\d\d-\d\d 02:00, .+, .+/);
  });

  it("--apply twice leaves exactly one block and the foreign lines; --uninstall removes only the block", async () => {
    const dir = setup('[schedule]\nverify = false\nhealth = "*/30 * * * *"');
    const foreign = "MAILTO=ops@example.org\n# nightly report\n15 1 * * * /usr/bin/report --all\n";
    const fake = fakeCrontab(dir, foreign);
    const first = await runCli(["install-schedule", "--apply", "--platform", "cron"], { cwd: dir, env: fake.env });
    expect(first.code).toBe(0);
    const once = readFileSync(fake.file, "utf8");
    expect(once.startsWith(foreign)).toBe(true);
    expect(once).toContain("*/30 * * * * ");
    expect(once).not.toContain(" verify ");

    const second = await runCli(["install-schedule", "--apply", "--platform", "cron"], { cwd: dir, env: fake.env });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("already up to date");
    expect(readFileSync(fake.file, "utf8")).toBe(once);
    expect(once.split("# BEGIN sqlbak").length).toBe(2);

    const gone = await runCli(["install-schedule", "--uninstall", "--platform", "cron"], { cwd: dir, env: fake.env });
    expect(gone.code).toBe(0);
    expect(readFileSync(fake.file, "utf8")).toBe(foreign);
  });

  it("--apply works on a user with no crontab yet", async () => {
    const dir = setup();
    const fake = fakeCrontab(dir);
    const r = await runCli(["install-schedule", "--apply", "--platform", "cron"], { cwd: dir, env: fake.env });
    expect(r.code).toBe(0);
    expect(readFileSync(fake.file, "utf8")).toMatch(/^# BEGIN sqlbak .*\n(.*\n)*# END sqlbak\n$/);
  });

  it("systemd --apply writes the unit pairs, is idempotent, drops disabled jobs and uninstalls", async () => {
    const dir = setup();
    const units = join(dir, "units");
    const env = { SQLBAK_SYSTEMD_DIR: units, SQLBAK_SYSTEMCTL: "" };
    const r = await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(readdirSync(units).sort()).toEqual(["backup", "health", "verify"].flatMap((j) => [`sqlbak-${j}.service`, `sqlbak-${j}.timer`]).sort());
    expect(readFileSync(join(units, "sqlbak-health.timer"), "utf8")).toContain("OnCalendar=*-*-* 00,06,12,18:00:00\nPersistent=true\n");
    expect(readFileSync(join(units, "sqlbak-backup.service"), "utf8")).toContain(`ExecStart=${BIN} backup --rotate --config ${join(dir, "sqlbak.toml")}\n`);

    const again = await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(again.stderr).toContain("already up to date");

    writeFileSync(join(dir, "sqlbak.toml"), `${readFileSync(join(dir, "sqlbak.toml"), "utf8")}\n[schedule]\nverify = ""\n`);
    await runCli(["install-schedule", "--apply", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(existsSync(join(units, "sqlbak-verify.timer"))).toBe(false);
    expect(existsSync(join(units, "sqlbak-backup.timer"))).toBe(true);

    writeFileSync(join(units, "other.timer"), "[Timer]\n");
    const un = await runCli(["install-schedule", "--uninstall", "--platform", "systemd", "--user"], { cwd: dir, env });
    expect(un.code).toBe(0);
    expect(readdirSync(units)).toEqual(["other.timer"]);
  });

  it("rejects an invalid cron expression in the config with exit 2, naming the key", async () => {
    const dir = setup('[schedule]\nbackup = "0 25 * * *"');
    const r = await runCli(["install-schedule", "--platform", "cron"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('schedule.backup: "0 25 * * *" is not a valid cron expression: hour: 25 is out of range 0-23');
    expect(r.stdout).toBe("");
  });

  it("refuses what a platform cannot express, with exit 2 and advice", async () => {
    const dir = setup('[schedule]\nhealth = "*/7 * * * *"');
    const r = await runCli(["install-schedule", "--platform", "windows"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('windows: "*/7 * * * *" runs at 216 unevenly spaced times a day');
    expect(r.stderr).toContain("use evenly spaced times");
  });

  it("rejects conflicting flags", async () => {
    const dir = setup();
    expect((await runCli(["install-schedule", "--apply", "--uninstall"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["install-schedule", "--platform", "cron", "--system"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["install-schedule", "--platform", "bsd"], { cwd: dir })).code).toBe(2);
  });
});
