/**
 * `[schedule] shutdown`: the systemd unit that backs up as the machine stops
 * (started at boot, does nothing, stays active; stopping it runs the backup),
 * with its ordering, and accepted by `systemd-analyze verify` (system and user).
 */
import { describe, expect, it } from "bun:test";
import { scheduledJobs } from "../../src/lib/config/schedule.ts";
import { renderSchedule } from "../../src/lib/schedule/render.ts";
import { shutdownBackupArgv } from "../../src/lib/schedule/shutdown.ts";
import { systemdVerify } from "../helpers/systemd-verify.ts";

const OPTS = { system: true, writablePaths: ["/var/backups/sqlbak"], logDir: "/var/log" };
const have = Bun.which("systemd-analyze") !== null;

/** Every value of `key=` in a unit's text. */
const settings = (content: string, key: string) =>
  content
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe("systemd shutdown backup unit", () => {
  it("runs the backup in ExecStop= of a oneshot unit that stays active, ordered before shutdown", () => {
    const argv = shutdownBackupArgv(["/usr/local/bin/sqlbak"], "/etc/sqlbak/config.toml", "/etc/sqlbak/env");
    const files = renderSchedule("systemd", [], { ...OPTS, shutdownArgv: argv }).files;
    expect(files.map((f) => f.name)).toEqual(["sqlbak-shutdown.service"]);
    const unit = files[0]!.content;
    expect(settings(unit, "Type")).toEqual(["oneshot"]);
    expect(settings(unit, "RemainAfterExit")).toEqual(["yes"]);
    expect(settings(unit, "ExecStart")).toEqual(["/bin/true"]);
    expect(settings(unit, "ExecStop")).toEqual([
      "/usr/local/bin/sqlbak backup --kind scheduled --tag shutdown " +
        "--config /etc/sqlbak/config.toml --env-file /etc/sqlbak/env",
    ]);
    // Default dependencies stay: they give Conflicts=/Before=shutdown.target; without them it could be stopped too late.
    expect(settings(unit, "DefaultDependencies")).toEqual([]);
    expect(settings(unit, "Before")).toEqual(["shutdown.target"]);
    expect(settings(unit, "After")).toEqual(["local-fs.target network-online.target"]);
    expect(settings(unit, "WantedBy")).toEqual(["multi-user.target"]);
    expect(settings(unit, "TimeoutStopSec")).toEqual(["30min"]);
    expect(settings(unit, "ReadWritePaths")).toEqual(["-/var/backups/sqlbak"]);
    const user = renderSchedule("systemd", [], { ...OPTS, system: false, shutdownArgv: argv }).files[0]!.content;
    expect(settings(user, "WantedBy")).toEqual(["default.target"]);
    expect(settings(user, "After")).toEqual(["local-fs.target"]);
  });

  it("runs as the schedule's --user-name, like the jobs", () => {
    const argv = shutdownBackupArgv(["/usr/local/bin/sqlbak"], null, null);
    const runAs = { user: "sqlbak", group: "app" };
    const [unit] = renderSchedule("systemd", [], { ...OPTS, shutdownArgv: argv, runAs }).files;
    expect([settings(unit!.content, "User"), settings(unit!.content, "Group")]).toEqual([["sqlbak"], ["app"]]);
  });

  it("is not rendered unless asked for", () => {
    const jobs = scheduledJobs({ backup: "0 2 * * *" }, ["/usr/local/bin/sqlbak"], null);
    expect(renderSchedule("systemd", jobs, OPTS).files.map((f) => f.name)).not.toContain("sqlbak-shutdown.service");
  });

  it.skipIf(!have)("systemd-analyze verify accepts it beside the jobs' units (system and user)", () => {
    for (const system of [true, false]) {
      // verify checks that ExecStart's and ExecStop's binaries exist: use one that does.
      const jobs = scheduledJobs({ backup: "0 2 * * *" }, [process.execPath], "/etc/sqlbak/config.toml");
      const shutdownArgv = shutdownBackupArgv([process.execPath], "/etc/sqlbak/config.toml", null);
      const files = renderSchedule("systemd", jobs, { ...OPTS, system, shutdownArgv }).files;
      expect(files.map((f) => f.name)).toContain("sqlbak-shutdown.service");
      const proc = systemdVerify(files, system);
      expect({ system, stderr: proc.stderr }).toEqual({ system, stderr: "" });
      expect(proc.exitCode).toBe(0);
    }
  });
  if (!have) console.warn("skipped the systemd-analyze check: not installed (./install.sh --test-deps installs it)");
});
