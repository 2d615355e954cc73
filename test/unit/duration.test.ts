import { describe, expect, it } from "bun:test";
import { formatSpan, parseCalendarWindow, parseSpanMs } from "../../src/lib/duration.ts";

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

  it.each(["", "soon", "10", "5 minutes", "1y", "-3h", "3h!"])("rejects %p", (text) => expect(parseSpanMs(text)).toBeNull());
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
