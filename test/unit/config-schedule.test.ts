/** The [schedule] table: defaults, disabling a job, and one collected problem per bad expression. */
import { describe, expect, it } from "bun:test";
import { ConfigError } from "../../src/lib/model/errors.ts";
import { configProject } from "../helpers/config.ts";

const load = (toml: string) => configProject(toml).config();

describe("[schedule]", () => {
  it("defaults to a daily backup, a weekly verify and a 6-hourly health check", () => {
    expect(load("").schedule).toEqual({
      backup: "0 2 * * *",
      verify: "0 3 * * 0",
      health: "0 */6 * * *",
      report: null,
    });
  });

  it("schedules the status report only when given a time", () => {
    expect(load('[schedule]\nreport = "0 4 * * 1"\n').schedule.report).toBe("0 4 * * 1");
  });

  it("takes expressions, and false or an empty string to disable a job", () => {
    expect(load('[schedule]\nbackup = "30 1 * * mon-sat"\nverify = false\nhealth = ""\n').schedule).toEqual({
      backup: "30 1 * * mon-sat",
      verify: null,
      health: null,
      report: null,
    });
  });

  it("reports every bad expression and unknown key with its key path", () => {
    let err: unknown;
    try {
      load('[schedule]\nbackup = "0 2 * *"\nverify = 3\nhealth = "61 * * * *"\nprune = "0 0 * * *"\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    expect((err as ConfigError).problems.map((p) => p.replace(/^.*sqlbak\.toml: /, ""))).toEqual([
      "schedule.prune: unknown key (allowed here: backup, verify, health, report, shutdown)",
      'schedule.backup: "0 2 * *" is not a valid cron expression: ' +
        "expected 5 fields (minute hour day-of-month month day-of-week), got 4",
      "schedule.verify: expected a cron expression or false, got a number",
      'schedule.health: "61 * * * *" is not a valid cron expression: minute: 61 is out of range 0-59',
    ]);
  });
});
