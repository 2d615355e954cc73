/** The [retention] table, per-database overrides and `timezone`: validation messages and resolution. */
import { describe, expect, it } from "bun:test";
import { UNLIMITED } from "../../src/lib/config/retention.ts";
import { configProblems, configProject } from "../helpers/config.ts";

const load = (toml: string) => configProject(toml).config();
/** Problems without the file name in front, so the table reads as keys. */
const problemsOf = (toml: string) => configProblems(toml).map((p) => p.replace(/^.*sqlbak\.toml: /, ""));

describe("retention config validation", () => {
  it.each([
    [
      "a negative count",
      `[retention]\nkeep_daily = -1`,
      `retention.keep_daily: expected a whole number ≥ 0 or "unlimited", got -1`,
    ],
    [
      "a fractional count",
      `[retention]\nkeep_last = 1.5`,
      `retention.keep_last: expected a whole number ≥ 0 or "unlimited", got 1.5`,
    ],
    [
      "a count as text",
      `[retention]\nkeep_weekly = "all"`,
      `retention.keep_weekly: expected a whole number ≥ 0 or "unlimited", got "all"`,
    ],
    [
      "a bad pre-restore count",
      `[retention]\nkeep_pre_restore = true`,
      `retention.keep_pre_restore: expected a whole number ≥ 0 or "unlimited", got true`,
    ],
    [
      "a window with an unknown unit",
      `[retention]\nkeep_within = "2w"`,
      `retention.keep_within: "2w" is not a retention window (examples: 2d12h, 1y6m, 36h; units y, m = months, d, h)`,
    ],
    [
      "a window as a number",
      `[retention]\nkeep_within_daily = 7`,
      "retention.keep_within_daily: " +
        "7 is not a retention window (examples: 2d12h, 1y6m, 36h; units y, m = months, d, h)",
    ],
    [
      "an unknown retention key",
      `[retention]\nkeep_dayly = 3`,
      "retention.keep_dayly: unknown key (allowed here: keep_last, keep_hourly, keep_daily, keep_weekly, " +
        "keep_monthly, keep_yearly, keep_pre_restore, keep_within, keep_within_hourly, " +
        "keep_within_daily, keep_within_weekly, keep_within_monthly, keep_within_yearly)",
    ],
    ["retention that is not a table", `retention = 3`, `retention: expected a table of keep_* settings`],
    [
      "an unknown time zone",
      `timezone = "Mars/Olympus"`,
      `timezone: "Mars/Olympus" is not an IANA time zone name (examples: Europe/Berlin, America/New_York, UTC)`,
    ],
    [
      "a per-database bad value",
      `[[database]]\npath = "a.db"\nretention = { keep_monthly = "lots" }`,
      `database[0].retention.keep_monthly: expected a whole number ≥ 0 or "unlimited", got "lots"`,
    ],
    [
      "a per-database bad window",
      `[[database]]\npath = "a.db"\n[database.retention]\nkeep_within_weekly = "1 year"`,
      "database[0].retention.keep_within_weekly: " +
        `"1 year" is not a retention window (examples: 2d12h, 1y6m, 36h; units y, m = months, d, h)`,
    ],
  ])("reports %s", (_what, toml, expected) => {
    expect(problemsOf(toml)).toEqual([expected]);
  });

  it("collects every retention problem in one pass", () => {
    expect(
      problemsOf(
        `timezone = "Nowhere"\n[retention]\nkeep_last = -2\nkeep_within = "x"\n` +
          `[[database]]\npath = "a.db"\nretention = { keep_daily = "no" }`,
      ),
    ).toHaveLength(4);
  });
});

describe("retention config resolution", () => {
  it("defaults to last 3, daily 30, weekly 12, monthly 12, pre-restore 5, no windows, the machine's zone", () => {
    const c = load(`[[database]]\npath = "a.db"`);
    expect(c.retention).toMatchObject({
      keepLast: 3,
      keepHourly: 0,
      keepDaily: 30,
      keepWeekly: 12,
      keepMonthly: 12,
      keepYearly: 0,
      keepPreRestore: 5,
    });
    expect(c.retention.keepWithin).toEqual({ years: 0, months: 0, days: 0, hours: 0 });
    expect(c.databases[0]!.retention).toEqual(c.retention);
    expect(c.timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it("merges a database's retention over the global one key by key", () => {
    const c = load(
      `timezone = "Europe/Berlin"\n[retention]\nkeep_daily = 7\nkeep_yearly = "unlimited"\nkeep_within = "2d12h"\n` +
        `[[database]]\nname = "a"\npath = "a.db"\n` +
        `retention = { keep_daily = 90, keep_within_monthly = "1y6m" }\n[[database]]\nname = "b"\npath = "b.db"`,
    );
    expect(c.timeZone).toBe("Europe/Berlin");
    const [a, b] = c.databases;
    expect(a!.retention).toMatchObject({
      keepLast: 3,
      keepDaily: 90,
      keepYearly: UNLIMITED,
      keepWithin: { years: 0, months: 0, days: 2, hours: 12 },
      keepWithinMonthly: { years: 1, months: 6, days: 0, hours: 0 },
    });
    expect(b!.retention).toMatchObject({
      keepDaily: 7,
      keepYearly: UNLIMITED,
      keepWithinMonthly: { years: 0, months: 0, days: 0, hours: 0 },
    });
  });
});
