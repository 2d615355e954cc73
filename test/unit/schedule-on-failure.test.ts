/**
 * systemd's `OnFailure=`: every job's service starts a unit that runs
 * `sqlbak notify-failure JOB` with the job's config and environment file, so a
 * job killed before it could report still sends its failure; the generated
 * units pass `systemd-analyze verify` where it is installed.
 */
import { describe, expect, it } from "bun:test";
import { scheduledJobs } from "../../src/lib/config/schedule.ts";
import { renderSchedule } from "../../src/lib/schedule/render.ts";
import { systemdVerify } from "../helpers/systemd-verify.ts";

const SCHEDULE = { backup: "0 2 * * *", verify: "0 3 * * 0", health: "0 */6 * * *" };
const OPTS = { system: true, writablePaths: ["/var/backups/sqlbak"], logDir: "/var/log" };
const have = Bun.which("systemd-analyze") !== null;

/** The value of `key=` in a unit's text, or undefined. */
const setting = (content: string, key: string) =>
  content
    .split("\n")
    .find((l) => l.startsWith(`${key}=`))
    ?.slice(key.length + 1);

describe("systemd OnFailure= units", () => {
  it("wires each job's service to a unit that runs notify-failure for that job, which has no OnFailure= itself", () => {
    const jobs = scheduledJobs(SCHEDULE, ["/usr/local/bin/sqlbak"], "/etc/sqlbak/config.toml", "/etc/sqlbak/env");
    const files = renderSchedule("systemd", jobs, OPTS).files;
    const byName = new Map(files.map((f) => [f.name, f.content]));
    for (const job of ["backup", "verify", "health"]) {
      const failureUnit = setting(byName.get(`sqlbak-${job}.service`)!, "OnFailure");
      expect(failureUnit).toBe(`sqlbak-${job}-failure.service`);
      const unit = byName.get(failureUnit!)!;
      expect(setting(unit, "ExecStart")).toBe(
        `/usr/local/bin/sqlbak notify-failure ${job} --config /etc/sqlbak/config.toml --env-file /etc/sqlbak/env`,
      );
      expect(setting(unit, "OnFailure")).toBeUndefined();
      expect(setting(unit, "Type")).toBe("oneshot");
      // It writes the op log where the job does: the same sandbox.
      expect(setting(unit, "ReadWritePaths")).toBe("-/var/backups/sqlbak");
    }
  });

  it.skipIf(!have)("systemd-analyze verify accepts the services, timers and failure units (system and user)", () => {
    for (const system of [true, false]) {
      // verify checks that ExecStart's binary exists: use one that does.
      const jobs = scheduledJobs(SCHEDULE, [process.execPath], "/etc/sqlbak/config.toml");
      const files = renderSchedule("systemd", jobs, { ...OPTS, system }).files;
      expect(files.filter((f) => f.name.endsWith("-failure.service"))).toHaveLength(3);
      const proc = systemdVerify(files, system);
      expect({ system, stderr: proc.stderr }).toEqual({ system, stderr: "" });
      expect(proc.exitCode).toBe(0);
    }
  });
  if (!have) console.warn("skipped the systemd-analyze check: not installed (./install.sh --test-deps installs it)");
});
