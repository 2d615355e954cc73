import { describe, expect, it } from "bun:test";
import {
  formatSpan,
  formatSpanSetting,
  MAX_SPAN_MS,
  parseCalendarWindow,
  parseSpanMs,
  spanProblem,
} from "../../src/lib/model/duration.ts";

describe("parseSpanMs", () => {
  it.each([
    ["90s", 90_000],
    ["15m", 900_000],
    ["26h", 93_600_000],
    ["1h30m", 5_400_000],
    ["7d", 604_800_000],
    ["2w", 1_209_600_000],
    ["250ms", 250],
    ["0", 0],
  ])("parses %p", (text, ms) => expect(parseSpanMs(text)).toBe(ms));

  it.each(["", "soon", "10", "5 minutes", "1y", "-3h", "3h!"])("rejects %p", (text) =>
    expect(parseSpanMs(text)).toBeNull(),
  );

  it("accepts up to 100 years and refuses anything longer, or too long to be a number", () => {
    expect(MAX_SPAN_MS).toBe(36_500 * 86_400_000);
    expect(parseSpanMs("36500d")).toBe(MAX_SPAN_MS);
    expect(parseSpanMs("36500d1ms")).toBeNull();
    expect(parseSpanMs("5300w")).toBeNull();
    expect(parseSpanMs(`${"9".repeat(400)}s`)).toBeNull();
  });
});

describe("spanProblem", () => {
  it("is null for a valid span", () => expect(spanProblem("1h30m")).toBeNull());
  it("names a malformed span", () =>
    expect(spanProblem("soon")).toBe('"soon" is not a duration (examples: 90s, 15m, 26h, 7d)'));
  it("names a span beyond the limit, shortening a huge one", () => {
    expect(spanProblem("99999w")).toBe('"99999w" is longer than 100 years, the longest duration sqlbak accepts');
    const huge = spanProblem(`${"9".repeat(400)}s`)!;
    expect(huge).toBe(`"${"9".repeat(20)}…" is longer than 100 years, the longest duration sqlbak accepts`);
  });
});

describe("formatSpanSetting", () => {
  it.each([
    [500, "500ms"],
    [1, "1ms"],
    [0, "0s"],
    [1_000, "1s"],
    [1_500, "1s500ms"],
    [90_000, "1m30s"],
    [120_000, "2m"],
    [5_400_000, "1h30m"],
    [7 * 86_400_000 + 3_600_000, "7d1h"],
  ])("formats %p as %p, in the syntax the config takes", (ms, text) => {
    expect(formatSpanSetting(ms)).toBe(text);
    expect(parseSpanMs(text)).toBe(ms);
  });
});

describe("parseCalendarWindow", () => {
  it("reads restic's units, where m is months", () => {
    expect(parseCalendarWindow("1y6m")).toEqual({ years: 1, months: 6, days: 0, hours: 0 });
    expect(parseCalendarWindow("2d12h")).toEqual({ years: 0, months: 0, days: 2, hours: 12 });
    expect(parseCalendarWindow("0s")).toEqual({ years: 0, months: 0, days: 0, hours: 0 });
  });
  it.each(["", "3w", "1.5d", "d", "2d 3h"])("rejects %p", (text) => expect(parseCalendarWindow(text)).toBeNull());
});

describe("formatSpan", () => {
  it.each([
    [5_000, "5s"],
    [125_000, "2m"],
    [3_600_000 * 5 + 60_000 * 3, "5h 3m"],
    [86_400_000 * 3 + 3_600_000 * 4, "3d 4h"],
  ])("formats %p as %p", (ms, text) => expect(formatSpan(ms)).toBe(text));
});
