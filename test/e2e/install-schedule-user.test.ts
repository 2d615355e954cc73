/** `install-schedule --user-name`: system units that run the jobs as a dedicated backup user (docs/least-privilege.md). */
import { describe, expect, it } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function setup() {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "backups"\n[[database]]\nname = "app"\npath = "app.db"\n`);
  const units = join(dir, "units");
  mkdirSync(units);
  const envFile = join(dir, "system.env");
  return {
    dir,
    units,
    envFile,
    env: { SQLBAK_SYSTEMD_DIR: units, SQLBAK_SYSTEMCTL: "", SQLBAK_SYSTEM_ENV_FILE: envFile },
  };
}

describe("install-schedule --user-name", () => {
  it.skipIf(!Bun.which("systemd-analyze"))(
    "adds User=/Group= to every system service (systemd-analyze verify accepts them) and hands the new env file to the user",
    async () => {
      const { dir, units, envFile, env } = setup();
      const args = [
        "install-schedule",
        "--apply",
        "--platform",
        "systemd",
        "--system",
        "--user-name",
        "nobody:nogroup",
      ];
      const r = await runCli(args, { cwd: dir, env });
      expect(r.stderr).not.toContain("cannot reach");
      expect(r.code).toBe(0);
      for (const job of ["backup", "verify", "health"]) {
        for (const unit of [`sqlbak-${job}.service`, `sqlbak-${job}-failure.service`])
          expect(readFileSync(join(units, unit), "utf8")).toContain(
            "\nUser=nobody\nGroup=nogroup\nNoNewPrivileges=yes\n",
          );
        expect(readFileSync(join(units, `sqlbak-${job}.timer`), "utf8")).not.toContain("User=");
      }
      // sqlbak reads an environment file only when the user running it owns it.
      if (process.getuid?.() === 0) expect(statSync(envFile).uid).toBe(65534);
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
    },
  );

  it("prints User= without a group when given only a name", async () => {
    const { dir, env } = setup();
    const r = await runCli(["install-schedule", "--platform", "systemd", "--system", "--user-name", "sqlbak"], {
      cwd: dir,
      env,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("IOSchedulingClass=idle\nUser=sqlbak\nNoNewPrivileges=yes\n");
    expect(r.stdout).not.toContain("Group=");
  });

  it.each([
    [["--platform", "systemd", "--system", "--user-name", "bad name"], '--user-name "bad name" is not a user name'],
    [["--platform", "systemd", "--user", "--user-name", "sqlbak"], "--user-name applies to systemd system units only"],
    [["--platform", "cron", "--user-name", "sqlbak"], "--user-name applies to systemd system units only"],
  ])("refuses %j with exit 2", async (extra, message) => {
    const { dir, env } = setup();
    const r = await runCli(["install-schedule", ...extra], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
