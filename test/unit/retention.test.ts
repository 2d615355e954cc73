/**
 * planRetention against golden plans worked out by hand from restic's forget
 * documentation and snapshot_policy.go, plus seeded property tests.
 */
import { describe, expect, it } from "bun:test";
import { prng } from "../../bench/generate.ts";
import { type RetentionPolicy, UNLIMITED } from "../../src/lib/config/retention.ts";
import { parseCalendarWindow } from "../../src/lib/model/duration.ts";
import type { BackupKind } from "../../src/lib/model/manifest.ts";
import { compactTimestamp } from "../../src/lib/model/names.ts";
import { isoWeek } from "../../src/lib/retention/calendar.ts";
import { planRetention, type RetentionInput } from "../../src/lib/retention/policy.ts";
import { describePolicy } from "../../src/lib/retention/policy-rules.ts";

const NONE = { years: 0, months: 0, days: 0, hours: 0 };

/** A policy with every rule off except the ones given (windows as restic strings). */
function policy(p: Partial<Record<keyof RetentionPolicy, number | string>> = {}): RetentionPolicy {
  const base: RetentionPolicy = {
    keepLast: 0,
    keepHourly: 0,
    keepDaily: 0,
    keepWeekly: 0,
    keepMonthly: 0,
    keepYearly: 0,
    keepWithin: NONE,
    keepWithinHourly: NONE,
    keepWithinDaily: NONE,
    keepWithinWeekly: NONE,
    keepWithinMonthly: NONE,
    keepWithinYearly: NONE,
    keepPreRestore: 0,
  };
  for (const [k, v] of Object.entries(p))
    Object.assign(base, { [k]: typeof v === "string" ? parseCalendarWindow(v) : v });
  return base;
}

/** A backup at `iso`; the id embeds the time like real ids do. */
function b(iso: string, kind: BackupKind = "scheduled", tags: string[] = []): RetentionInput {
  const at = new Date(iso);
  return { id: `app-${compactTimestamp(at)}-00000000`, created_at: at.toISOString(), kind, tags };
}

/** The plan as `time → reasons` (empty list = removed), newest first, for compact goldens. */
function plan(backups: RetentionInput[], p: RetentionPolicy, timeZone = "UTC", now?: Date) {
  const result = planRetention(backups, p, { timeZone, now });
  return Object.fromEntries(result.decisions.map((d) => [d.created_at.replace(":00.000Z", "Z"), d.reasons]));
}

describe("planRetention: restic's rules", () => {
  it(`daily 5 with a missing Wednesday and a Friday 23:00 extra keeps the newest of each of the 5 most recent days \
with backups`, () => {
    // Mon 2026-11-16 .. Sun 2026-11-22 at 10:00, no Wednesday, a second Friday backup at 23:00.
    const days = ["16", "17", "19", "20", "21", "22"].map((d) => b(`2026-11-${d}T10:00:00Z`));
    expect(plan([...days, b("2026-11-20T23:00:00Z")], policy({ keepDaily: 5 }))).toEqual({
      "2026-11-22T10:00Z": ["daily 2026-11-22"],
      "2026-11-21T10:00Z": ["daily 2026-11-21"],
      "2026-11-20T23:00Z": ["daily 2026-11-20"],
      "2026-11-20T10:00Z": [],
      "2026-11-19T10:00Z": ["daily 2026-11-19"],
      "2026-11-17T10:00Z": ["daily 2026-11-17"],
      "2026-11-16T10:00Z": [],
    });
  });

  it("daily 4 over twelve Sundays keeps the last four (restic's documented example)", () => {
    const sundays = Array.from({ length: 12 }, (_, i) => b(new Date(Date.UTC(2019, 8, 1 + 7 * i, 11)).toISOString()));
    const r = planRetention(sundays, policy({ keepDaily: 4 }), { timeZone: "UTC" });
    expect(r.keep.map((id) => id.slice(4, 12))).toEqual(["20191117", "20191110", "20191103", "20191027"]);
    expect(r.remove).toHaveLength(8);
  });

  it("keep_last N keeps the N newest with reason `last N`", () => {
    const list = ["01", "02", "03", "04", "05"].map((d) => b(`2026-11-${d}T00:00:00Z`));
    expect(Object.values(plan(list, policy({ keepLast: 3 })))).toEqual([["last 3"], ["last 3"], ["last 3"], [], []]);
  });

  it("hourly counts hours that have backups and keeps the newest of each", () => {
    const list = [
      b("2026-11-20T14:10:00Z"),
      b("2026-11-20T14:50:00Z"),
      b("2026-11-20T13:05:00Z"),
      b("2026-11-20T12:00:00Z"),
    ];
    expect(plan(list, policy({ keepHourly: 2 }))).toEqual({
      "2026-11-20T14:50Z": ["hourly 2026-11-20 14h"],
      "2026-11-20T14:10Z": [],
      "2026-11-20T13:05Z": ["hourly 2026-11-20 13h"],
      "2026-11-20T12:00Z": [],
    });
  });

  it("weekly uses ISO weeks starting Monday, across a 53-week year", () => {
    // 2026 starts on a Thursday, so it has a week 53 that holds 2027-01-01.
    const list = [
      b("2027-01-04T09:00:00Z"),
      b("2027-01-03T09:00:00Z"),
      b("2026-12-28T09:00:00Z"),
      b("2026-12-27T09:00:00Z"),
    ];
    expect(plan(list, policy({ keepWeekly: 3 }))).toEqual({
      "2027-01-04T09:00Z": ["weekly 2027-W01"],
      "2027-01-03T09:00Z": ["weekly 2026-W53"],
      "2026-12-28T09:00Z": [],
      "2026-12-27T09:00Z": ["weekly 2026-W52"],
    });
  });

  it("a rule with count left at the oldest backup keeps it too, as `oldest <rule>`", () => {
    const list = [
      b("2026-11-20T00:00:00Z"),
      b("2026-11-01T00:00:00Z"),
      b("2026-10-15T00:00:00Z"),
      b("2026-09-30T00:00:00Z"),
      b("2026-09-01T00:00:00Z"),
    ];
    expect(plan(list, policy({ keepMonthly: 12, keepYearly: 1 }))).toEqual({
      "2026-11-20T00:00Z": ["monthly 2026-11", "yearly 2026"],
      "2026-11-01T00:00Z": [],
      "2026-10-15T00:00Z": ["monthly 2026-10"],
      "2026-09-30T00:00Z": ["monthly 2026-09"],
      "2026-09-01T00:00Z": ["oldest monthly"],
    });
  });

  it("unlimited keeps every period, and the oldest", () => {
    const list = [
      b("2026-11-20T10:00:00Z"),
      b("2026-11-20T09:00:00Z"),
      b("2026-11-19T10:00:00Z"),
      b("2026-11-19T08:00:00Z"),
    ];
    expect(Object.values(plan(list, policy({ keepDaily: UNLIMITED })))).toEqual([
      ["daily 2026-11-20"],
      [],
      ["daily 2026-11-19"],
      ["oldest daily"],
    ]);
  });

  it("rules are ORed and each lists its reason", () => {
    const list = [
      b("2026-11-20T10:00:00Z"),
      b("2026-11-19T10:00:00Z"),
      b("2026-11-12T10:00:00Z"),
      b("2026-11-11T10:00:00Z"),
    ];
    expect(plan(list, policy({ keepLast: 1, keepDaily: 2, keepWeekly: 2 }))).toEqual({
      "2026-11-20T10:00Z": ["last 1", "daily 2026-11-20", "weekly 2026-W47"],
      "2026-11-19T10:00Z": ["daily 2026-11-19"],
      "2026-11-12T10:00Z": ["weekly 2026-W46"],
      "2026-11-11T10:00Z": [],
    });
  });

  it("keep_within keeps backups strictly after newest − D", () => {
    const list = [
      b("2026-11-20T12:00:00Z"),
      b("2026-11-19T00:00:00Z"),
      b("2026-11-18T12:00:01Z"),
      b("2026-11-18T12:00:00Z"),
      b("2026-11-18T11:00:00Z"),
    ];
    expect(Object.values(plan(list, policy({ keepWithin: "2d" })))).toEqual([
      ["within 2d"],
      ["within 2d"],
      ["within 2d"],
      [],
      [],
    ]);
  });

  it("keep_within uses calendar months like Go's AddDate (Mar 31 − 1 month = Mar 3)", () => {
    const list = [
      b("2026-03-31T10:00:00Z"),
      b("2026-03-03T10:00:01Z"),
      b("2026-03-03T10:00:00Z"),
      b("2026-03-01T10:00:00Z"),
    ];
    expect(Object.values(plan(list, policy({ keepWithin: "1m" })))).toEqual([["within 1m"], ["within 1m"], [], []]);
  });

  it("keep_within_daily applies the daily rule only inside the window", () => {
    const list = [
      "2026-11-20T12:00",
      "2026-11-20T08:00",
      "2026-11-19T12:00",
      "2026-11-17T13:00",
      "2026-11-17T11:00",
      "2026-11-10T12:00",
    ].map((t) => b(`${t}:00Z`));
    expect(Object.values(plan(list, policy({ keepWithinDaily: "3d" })))).toEqual([
      ["daily 2026-11-20 within 3d"],
      [],
      ["daily 2026-11-19 within 3d"],
      ["daily 2026-11-17 within 3d"],
      [],
      [],
    ]);
    expect(Object.values(plan(list.slice(0, 2), policy({ keepWithinDaily: "3d" })))).toEqual([
      ["daily 2026-11-20 within 3d"],
      ["oldest daily within 3d"],
    ]);
  });

  it("ignores backups in the future when picking the newest time for windows", () => {
    const list = [
      b("2030-01-01T00:00:00Z"),
      b("2026-11-20T00:00:00Z"),
      b("2026-11-19T12:00:00Z"),
      b("2026-11-18T00:00:00Z"),
    ];
    expect(Object.values(plan(list, policy({ keepWithin: "1d" }), "UTC", new Date("2026-11-21T00:00:00Z")))).toEqual([
      ["future-dated"],
      ["within 1d"],
      ["within 1d"],
      [],
    ]);
  });
});

describe("planRetention: safety nets", () => {
  it("a future-dated backup (a wrong clock) is kept but never takes keep_last's slot or counts as the newest", () => {
    // Bug: with keep_last = 1 the future copy stayed "newest" and every real backup was removed.
    const list = [b("2030-01-01T00:00:00Z"), b("2026-11-20T00:00:00Z"), b("2026-11-19T00:00:00Z")];
    expect(Object.values(plan(list, policy({ keepLast: 1 }), "UTC", new Date("2026-11-21T00:00:00Z")))).toEqual([
      ["future-dated"],
      ["last 1"],
      [],
    ]);
  });

  it("never removes a protected backup (the one backup --rotate just took), even when another one looks newer", () => {
    const list = [b("2026-11-20T00:00:02Z"), b("2026-11-20T00:00:01Z"), b("2026-11-19T00:00:00Z")];
    const result = planRetention(list, policy({ keepLast: 1 }), {
      timeZone: "UTC",
      now: new Date("2026-11-20T00:00:03Z"),
      protect: [list[1]!.id],
    });
    expect(result.decisions.map((d) => d.reasons)).toEqual([["last 1"], ["just taken"], []]);
    expect(result.remove).toEqual([list[2]!.id]);
  });

  it("keeps a protected backup with the reason it was given (the one from before a shrink)", () => {
    const list = [b("2026-11-20T00:00:02Z"), b("2026-11-20T00:00:01Z"), b("2026-11-19T00:00:00Z")];
    const result = planRetention(list, policy({ keepLast: 1 }), {
      timeZone: "UTC",
      now: new Date("2026-11-20T00:00:03Z"),
      protect: [{ id: list[2]!.id, reason: "before shrink" }],
    });
    expect(result.decisions.map((d) => d.reasons)).toEqual([["last 1"], [], ["before shrink"]]);
    expect(result.remove).toEqual([list[1]!.id]);
  });

  it("never removes manual backups and only applies rules to scheduled ones", () => {
    const list = [
      b("2026-11-20T00:00:00Z", "manual"),
      b("2026-11-19T00:00:00Z"),
      b("2026-11-18T00:00:00Z"),
      b("2026-11-01T00:00:00Z", "manual"),
    ];
    expect(Object.values(plan(list, policy({ keepLast: 1 })))).toEqual([["manual"], ["last 1"], [], ["manual"]]);
  });

  it("keeps the newest keep_pre_restore pre-restore backups", () => {
    const list = [
      b("2026-11-20T00:00:00Z"),
      b("2026-11-19T00:00:00Z", "pre-restore"),
      b("2026-11-18T00:00:00Z", "pre-restore"),
      b("2026-11-17T00:00:00Z", "pre-restore"),
    ];
    expect(Object.values(plan(list, policy({ keepLast: 1, keepPreRestore: 2 })))).toEqual([
      ["last 1"],
      ["pre-restore 2"],
      ["pre-restore 2"],
      [],
    ]);
  });

  it("never removes a backup tagged keep; tagged scheduled backups still count for the rules", () => {
    const list = [
      b("2026-11-20T00:00:00Z", "scheduled", ["keep"]),
      b("2026-11-19T00:00:00Z"),
      b("2026-11-18T00:00:00Z", "scheduled", ["keep", "x"]),
    ];
    expect(Object.values(plan(list, policy({ keepLast: 1 })))).toEqual([["last 1", "tag keep"], [], ["tag keep"]]);
  });

  it("never removes the newest backup, whatever its kind", () => {
    const list = [b("2026-11-21T00:00:00Z", "pre-restore"), b("2026-11-20T00:00:00Z"), b("2026-11-19T00:00:00Z")];
    expect(Object.values(plan(list, policy({ keepLast: 1, keepPreRestore: 0 })))).toEqual([["newest"], ["last 1"], []]);
  });

  it("an empty policy removes nothing and says so", () => {
    const list = [
      b("2026-11-20T00:00:00Z"),
      b("2026-11-19T00:00:00Z"),
      b("2026-11-18T00:00:00Z", "pre-restore"),
      b("2026-11-17T00:00:00Z", "manual"),
    ];
    const r = planRetention(list, policy(), { timeZone: "UTC" });
    expect(r.emptyPolicy).toBe(true);
    expect(r.remove).toEqual([]);
    expect(r.decisions.map((d) => d.reasons)).toEqual([
      ["empty policy"],
      ["empty policy"],
      ["empty policy"],
      ["manual"],
    ]);
    expect(describePolicy(policy())).toBe("empty policy: keep everything");
  });

  it("plans nothing for no backups", () => {
    expect(planRetention([], policy({ keepLast: 3 }), { timeZone: "UTC" })).toEqual({
      emptyPolicy: false,
      decisions: [],
      keep: [],
      remove: [],
    });
  });

  it("describes a policy in one line", () => {
    expect(
      describePolicy(
        policy({
          keepLast: 3,
          keepDaily: 30,
          keepMonthly: UNLIMITED,
          keepWithinDaily: "7d",
          keepWithin: "2d12h",
          keepPreRestore: 5,
        }),
      ),
    ).toBe(
      "keep last 3, 30 daily, unlimited monthly, daily within 7d, all within 2d12h of the newest; " +
        "5 pre-restore; manual and tag keep always",
    );
  });
});

describe("planRetention: good backups only (issue 14 §6)", () => {
  const bad = (x: RetentionInput, why: "failed verification" | "data missing"): RetentionInput => ({ ...x, bad: why });

  it("a backup whose latest verification failed never fills keep_last's slot: the good one before it is kept", () => {
    // Bug: the corrupt newest backup took `last 1` and the only good backup was removed.
    const list = [
      bad(b("2026-11-20T00:00:00Z"), "failed verification"),
      b("2026-11-19T00:00:00Z"),
      b("2026-11-18T00:00:00Z"),
    ];
    const result = planRetention(list, policy({ keepLast: 1 }), { timeZone: "UTC" });
    expect(result.decisions.map((d) => d.reasons)).toEqual([["failed verification (evidence)"], ["last 1"], []]);
    expect(result.remove).toEqual([list[2]!.id]);
  });

  it("a missing-data backup never fills a daily slot either", () => {
    const list = [
      b("2026-11-20T10:00:00Z"),
      bad(b("2026-11-19T10:00:00Z"), "data missing"),
      b("2026-11-19T08:00:00Z"),
      b("2026-11-18T10:00:00Z"),
    ];
    expect(Object.values(plan(list, policy({ keepDaily: 2 })))).toEqual([
      ["daily 2026-11-20"],
      ["data missing (evidence)"],
      ["daily 2026-11-19"],
      [],
    ]);
  });

  it("removes evidence older than the oldest backup the policy keeps, saying so", () => {
    const list = [
      b("2026-11-20T00:00:00Z"),
      b("2026-11-19T00:00:00Z"),
      bad(b("2026-11-18T00:00:00Z"), "failed verification"),
      bad(b("2026-11-17T00:00:00Z"), "data missing"),
    ];
    const result = planRetention(list, policy({ keepLast: 1 }), { timeZone: "UTC" });
    expect(result.decisions.map((d) => d.reasons)).toEqual([["last 1"], [], [], []]);
    expect(result.remove).toEqual([list[1]!.id, list[2]!.id, list[3]!.id]);
    expect(result.decisions[1]!.removal).toBeUndefined();
    expect(result.decisions[2]!.removal).toBe(`failed verification, older than the oldest kept backup ${list[0]!.id}`);
    expect(result.decisions[3]!.removal).toBe(`data missing, older than the oldest kept backup ${list[0]!.id}`);
  });

  it("never removes the last good backup, and keeps all evidence when no good backup is left", () => {
    const list = [
      bad(b("2026-11-20T00:00:00Z"), "failed verification"),
      bad(b("2026-11-19T00:00:00Z"), "failed verification"),
      b("2026-11-10T00:00:00Z", "manual"),
    ];
    // Only a manual backup is good: the scheduled rules have nothing to keep, the manual one is the oldest kept.
    expect(Object.values(plan(list, policy({ keepLast: 1 })))).toEqual([
      ["failed verification (evidence)"],
      ["failed verification (evidence)"],
      ["manual"],
    ]);
    const onlyBad = [
      bad(b("2026-11-20T00:00:00Z"), "failed verification"),
      bad(b("2026-11-19T00:00:00Z"), "data missing"),
    ];
    expect(planRetention(onlyBad, policy({ keepLast: 1 }), { timeZone: "UTC" }).remove).toEqual([]);
    const oneGood = [bad(b("2026-11-20T00:00:00Z"), "failed verification"), b("2026-11-19T00:00:00Z", "pre-restore")];
    expect(Object.values(plan(oneGood, policy({ keepLast: 1 })))).toEqual([
      ["failed verification (evidence)"],
      ["newest"],
    ]);
  });

  it("a failed pre-restore copy does not count against keep_pre_restore", () => {
    const list = [
      b("2026-11-20T00:00:00Z"),
      bad(b("2026-11-19T00:00:00Z", "pre-restore"), "failed verification"),
      b("2026-11-18T00:00:00Z", "pre-restore"),
    ];
    expect(Object.values(plan(list, policy({ keepLast: 1, keepPreRestore: 1 })))).toEqual([
      ["last 1"],
      ["failed verification (evidence)"],
      ["pre-restore 1"],
    ]);
  });
});

describe("planRetention: time zones and DST", () => {
  it("puts 23:30 on the last day of a month in that month in the configured zone", () => {
    // 2026-10-31 23:30 EDT is 2026-11-01 03:30 UTC.
    const list = [b("2026-11-01T03:30:00Z"), b("2026-09-15T12:00:00Z")];
    const p = policy({ keepMonthly: 1, keepDaily: 1 });
    expect(plan(list, p, "America/New_York")["2026-11-01T03:30Z"]).toEqual(["daily 2026-10-31", "monthly 2026-10"]);
    expect(plan(list, p, "UTC")["2026-11-01T03:30Z"]).toEqual(["daily 2026-11-01", "monthly 2026-11"]);
  });

  it("handles the 25-hour day in Europe/Berlin (2026-10-25)", () => {
    // 00:00 CEST (22:00Z the day before) and 23:59 CET (22:59Z) are the same local day.
    const list = [
      b("2026-10-25T23:00:00Z"),
      b("2026-10-25T22:59:00Z"),
      b("2026-10-24T22:00:00Z"),
      b("2026-10-24T21:59:00Z"),
    ];
    expect(Object.values(plan(list, policy({ keepDaily: 5 }), "Europe/Berlin"))).toEqual([
      ["daily 2026-10-26"],
      ["daily 2026-10-25"],
      [],
      ["daily 2026-10-24"],
    ]);
    // 02:30 happens twice that night: one hourly period, as in Go's local clock.
    const hours = [b("2026-10-25T01:30:00Z"), b("2026-10-25T00:30:00Z"), b("2026-10-24T23:30:00Z")];
    expect(Object.values(plan(hours, policy({ keepHourly: UNLIMITED }), "Europe/Berlin"))).toEqual([
      ["hourly 2026-10-25 02h"],
      [],
      ["hourly 2026-10-25 01h"],
    ]);
  });

  it("handles the 23-hour day in Europe/Berlin (2026-03-29)", () => {
    const list = [
      b("2026-03-29T22:00:00Z"),
      b("2026-03-29T21:59:00Z"),
      b("2026-03-28T23:00:00Z"),
      b("2026-03-28T22:59:00Z"),
    ];
    expect(Object.values(plan(list, policy({ keepDaily: 10 }), "Europe/Berlin"))).toEqual([
      ["daily 2026-03-30"],
      ["daily 2026-03-29"],
      [],
      ["daily 2026-03-28"],
    ]);
  });

  it("measures keep_within on the local calendar: one day back over the spring change is 23 hours", () => {
    const list = [
      b("2026-03-29T12:00:00Z"),
      b("2026-03-28T13:00:01Z"),
      b("2026-03-28T13:00:00Z"),
      b("2026-03-28T12:30:00Z"),
    ];
    expect(Object.values(plan(list, policy({ keepWithin: "1d" }), "Europe/Berlin"))).toEqual([
      ["within 1d"],
      ["within 1d"],
      [],
      [],
    ]);
    expect(Object.values(plan(list, policy({ keepWithin: "1d" }), "UTC"))).toEqual([
      ["within 1d"],
      ["within 1d"],
      ["within 1d"],
      ["within 1d"],
    ]);
  });

  it("computes ISO weeks", () => {
    expect(isoWeek(2026, 11, 20)).toEqual({ year: 2026, week: 47 });
    expect(isoWeek(2027, 1, 1)).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(2024, 12, 30)).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(2021, 1, 3)).toEqual({ year: 2020, week: 53 });
  });
});

const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"];
const COUNT_KEYS = ["keepLast", "keepHourly", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly"] as const;
const RULE_OF: Record<(typeof COUNT_KEYS)[number], string> = {
  keepLast: "last",
  keepHourly: "hourly",
  keepDaily: "daily",
  keepWeekly: "weekly",
  keepMonthly: "monthly",
  keepYearly: "yearly",
};

function randomCase(seed: number) {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const n = Math.floor(r() * 40);
  const start = Date.UTC(2024, 0, 1);
  // Clustered times: many within hours of each other, some months apart.
  const spanMs = pick([6 * 3600e3, 10 * 86400e3, 400 * 86400e3, 3 * 365 * 86400e3]);
  const backups = Array.from({ length: n }, (_, i) => {
    const t = new Date(start + Math.floor(r() * spanMs));
    const kind = pick(["scheduled", "scheduled", "scheduled", "manual", "pre-restore"] as const);
    const tags = r() < 0.1 ? ["keep"] : [];
    return {
      id: `app-${compactTimestamp(t)}-${i.toString(16).padStart(8, "0")}`,
      created_at: t.toISOString(),
      kind,
      tags,
    };
  });
  const p = policy();
  for (const k of COUNT_KEYS) p[k] = r() < 0.5 ? 0 : r() < 0.15 ? UNLIMITED : Math.floor(r() * 6);
  for (const k of [
    "keepWithin",
    "keepWithinHourly",
    "keepWithinDaily",
    "keepWithinWeekly",
    "keepWithinMonthly",
    "keepWithinYearly",
  ] as const) {
    if (r() < 0.2) p[k] = parseCalendarWindow(pick(["2d", "36h", "1m", "1y6m", "7d12h"]))!;
  }
  p.keepPreRestore = Math.floor(r() * 3);
  return { backups, policy: p, timeZone: pick(ZONES) };
}

describe("planRetention: properties over random backup sets", () => {
  it("holds for 400 seeded cases", () => {
    let totalRemoved = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { backups, policy: p, timeZone } = randomCase(seed);
      const result = planRetention(backups, p, { timeZone });
      const ctx = `seed ${seed}`;
      const ids = backups.map((x) => x.id).sort();
      // keep ∪ remove = all, disjoint
      expect([...result.keep, ...result.remove].sort(), ctx).toEqual(ids);
      expect(new Set([...result.keep, ...result.remove]).size, ctx).toBe(backups.length);
      const removed = new Set(result.remove);
      totalRemoved += removed.size;
      for (const x of backups) {
        if (x.kind === "manual" || x.tags.includes("keep")) expect(removed.has(x.id), ctx).toBe(false);
      }
      if (result.emptyPolicy) expect(result.remove, ctx).toEqual([]);
      // the newest (overall, and of the scheduled ones) is never removed
      const newestFirst = result.decisions;
      if (newestFirst.length) expect(newestFirst[0]!.keep, ctx).toBe(true);
      const newestScheduled = newestFirst.find((d) => d.kind === "scheduled");
      if (newestScheduled) expect(newestScheduled.keep, ctx).toBe(true);
      // a rule never keeps more than its count (the `oldest` keep uses up a count too)
      for (const k of COUNT_KEYS) {
        const count = p[k];
        if (count === UNLIMITED) continue;
        const rule = RULE_OF[k];
        const byRule = result.decisions.filter((d) =>
          d.reasons.some(
            (why) => why === `oldest ${rule}` || (why.startsWith(`${rule} `) && !why.includes(" within ")),
          ),
        );
        expect(byRule.length, `${ctx} ${rule}`).toBeLessThanOrEqual(count + 1);
        expect(byRule.length, `${ctx} ${rule}`).toBeLessThanOrEqual(count);
      }
      // rotating the kept set again removes nothing
      const kept = backups.filter((x) => !removed.has(x.id));
      expect(planRetention(kept, p, { timeZone }).remove, ctx).toEqual([]);
    }
    // The cases must actually remove things, or the properties above prove little.
    expect(totalRemoved).toBeGreaterThan(1000);
  });
});
