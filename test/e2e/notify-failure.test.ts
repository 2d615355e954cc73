/**
 * `sqlbak notify-failure JOB`, as systemd's OnFailure= unit runs it: with the
 * MONITOR_* variables systemd gives that unit, a job that was killed (or ended
 * with a code sqlbak does not report itself) sends the failure event and a
 * /fail ping; one that ended with sqlbak's own failure code sends nothing twice.
 */
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pingServer } from "../helpers/ping-server.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { webhook } from "../helpers/webhook.ts";

function project() {
  const hc = pingServer();
  const hook = webhook<{ event: string; title: string; message: string; error?: string }>();
  const dir = tempDir();
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"
[notify]
on = ["failure"]
webhook = "${hook.url}"
[ping]
url_env = "HC_BACKUP"
[[database]]
name = "app"
path = "app.db"
`,
  );
  return { dir, hc, hook, env: { HC_BACKUP: hc.url("/job") } };
}

const monitor = (exitCode: string, status: string, result: string) => ({
  MONITOR_SERVICE_RESULT: result,
  MONITOR_EXIT_CODE: exitCode,
  MONITOR_EXIT_STATUS: status,
  MONITOR_UNIT: "sqlbak-backup.service",
});

describe("notify-failure", () => {
  it("a job killed by a signal: the failure event and a /fail ping, naming the unit and the signal", async () => {
    const { dir, hc, hook, env } = project();
    const r = await runCli(["notify-failure", "backup"], {
      cwd: dir,
      env: { ...env, ...monitor("killed", "KILL", "signal") },
    });
    expect(r.stderr).not.toContain("failed:");
    expect(r.code).toBe(0);
    expect(hook.events).toHaveLength(1);
    expect(hook.events[0]).toMatchObject({ event: "backup.failure", title: "sqlbak: backup run FAILED" });
    expect(hook.events[0]!.error).toBe(
      "sqlbak-backup.service was killed by signal KILL (systemd: signal) before sqlbak could report it",
    );
    expect(hc.pings.map((p) => `${p.method} ${p.path}`)).toEqual(["POST /job/fail"]);
    expect(hc.pings[0]!.body).toContain("journalctl -u sqlbak-backup.service");
  });

  it("a killed report job (no monitor of its own) is a health problem, pinging nothing", async () => {
    const { dir, hc, hook, env } = project();
    const toml = join(dir, "sqlbak.toml");
    writeFileSync(toml, readFileSync(toml, "utf8").replace('on = ["failure"]', 'on = ["failure", "health"]'));
    const r = await runCli(["notify-failure", "report"], {
      cwd: dir,
      env: { ...env, ...monitor("killed", "KILL", "signal"), MONITOR_UNIT: "sqlbak-report.service" },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(hook.events).toMatchObject([{ event: "health.problem", title: "sqlbak: report run FAILED" }]);
    expect(hc.pings).toEqual([]);
  });

  it("an exit code sqlbak does not report itself (a crash, 2) is sent with that code", async () => {
    const { dir, hc, hook, env } = project();
    const r = await runCli(["notify-failure", "backup"], {
      cwd: dir,
      env: { ...env, ...monitor("exited", "134", "exit-code") },
    });
    expect(r.code).toBe(0);
    expect(hook.events).toHaveLength(1);
    expect(hc.pings.map((p) => p.path)).toEqual(["/job/134"]);
  });

  it("sqlbak's own failure codes were reported by the run: nothing is sent twice", async () => {
    const { dir, hc, hook, env } = project();
    for (const status of ["1", "3", "4", "5"]) {
      const r = await runCli(["notify-failure", "backup"], {
        cwd: dir,
        env: { ...env, ...monitor("exited", status, "exit-code") },
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`exited with status ${status}: sqlbak sent its failure itself`);
    }
    expect(hook.events).toEqual([]);
    expect(hc.pings).toEqual([]);
  });

  it("a ping URL variable that is not set is a warning, the event still goes out", async () => {
    const { dir, hook } = project();
    const r = await runCli(["notify-failure", "backup"], { cwd: dir, env: monitor("killed", "TERM", "signal") });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("job backup: fail ping failed: HC_BACKUP is not set: not pinged");
    expect(hook.events).toHaveLength(1);
  });

  it("refuses an unknown job with exit 2", async () => {
    const { dir, env } = project();
    const r = await runCli(["notify-failure", "nightly"], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown job "nightly"');
  });
});
