/** Cron expressions: every field form Debian's cron accepts, the errors for the rest, and next run times. */
import { describe, expect, it } from "bun:test";
import { CronSyntaxError, isDayOrSemantics, nextRuns, parseCron } from "../../src/lib/model/cron.ts";

const values = (text: string) => {
  const e = parseCron(text);
  return [e.minute.values, e.hour.values, e.dom.values, e.month.values, e.dow.values];
};
const local = (d: Date) =>
  `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")} ` +
  `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;

describe("parseCron", () => {
  it("expands numbers, stars, lists, ranges and steps", () => {
    expect(values("5 4 * * *")[0]).toEqual([5]);
    expect(values("0,30 * * * *")[0]).toEqual([0, 30]);
    expect(values("0 9-12 * * *")[1]).toEqual([9, 10, 11, 12]);
    expect(values("*/15 * * * *")[0]).toEqual([0, 15, 30, 45]);
    expect(values("10-30/10 * * * *")[0]).toEqual([10, 20, 30]);
    expect(values("0 0 1,15-17 * *")[2]).toEqual([1, 15, 16, 17]);
    expect(values("0 */6 * * *")[1]).toEqual([0, 6, 12, 18]);
  });

  it("reads month and weekday names in any case, in lists and ranges", () => {
    expect(values("0 0 1 jan,JUL *")[3]).toEqual([1, 7]);
    expect(values("0 0 * * Mon-Fri")[4]).toEqual([1, 2, 3, 4, 5]);
    expect(values("0 0 * * sat,sun")[4]).toEqual([0, 6]);
  });

  it("treats both 0 and 7 as Sunday", () => {
    expect(values("0 0 * * 7")[4]).toEqual([0]);
    expect(values("0 0 * * 5-7")[4]).toEqual([0, 5, 6]);
    expect(parseCron("0 0 * * 0-7").dow.full).toBe(true);
  });

  it("expands the @ shorthands", () => {
    expect(parseCron("@weekly").source).toBe("0 0 * * 0");
    expect(parseCron("@daily").source).toBe("0 0 * * *");
  });

  it("ORs the day fields only when both are restricted and neither starts with *", () => {
    expect(isDayOrSemantics(parseCron("0 0 13 * fri"))).toBe(true);
    expect(isDayOrSemantics(parseCron("0 0 */2 * 1"))).toBe(false);
    expect(isDayOrSemantics(parseCron("0 0 * * 1"))).toBe(false);
  });

  it.each([
    ["0 2 * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"],
    ["", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"],
    ["60 * * * *", "minute: 60 is out of range 0-59"],
    ["0 24 * * *", "hour: 24 is out of range 0-23"],
    ["0 0 0 * *", "day of month: 0 is out of range 1-31"],
    ["0 0 * 13 *", "month: 13 is out of range 1-12"],
    ["0 0 * * 8", "day of week: 8 is out of range 0-7"],
    ["0 0 * * funday", 'day of week: "funday" is not a number (names: sun, mon, tue, wed, thu, fri, sat)'],
    ["0 17-9 * * *", "hour: range 17-9 runs backwards (write 9-17, or a list)"],
    ["*/0 * * * *", "minute: step 0 is out of range 1-59"],
    ["5/10 * * * *", 'minute: "5/10" needs a range before the step (e.g. 5-59/10)'],
    ["1-2-3 * * * *", 'minute: "1-2-3" is not a range'],
    ["0 0 30 feb *", "day of month 30 never occurs in the chosen months, so this never runs"],
    [
      "@reboot",
      '"@reboot" is not supported (use five fields, or one of @yearly, ' +
        "@annually, @monthly, @weekly, @daily, @midnight, @hourly)",
    ],
  ])("rejects %p", (text, message) => {
    expect(() => parseCron(text)).toThrow(new CronSyntaxError(message));
  });
});

describe("nextRuns", () => {
  const from = new Date(2026, 10, 20, 12, 0); // Friday 2026-11-20 12:00 local

  it("lists the next runs strictly after the start, in local time", () => {
    expect(nextRuns(parseCron("0 */6 * * *"), from, 3).map(local)).toEqual([
      "2026-11-20 18:00",
      "2026-11-21 00:00",
      "2026-11-21 06:00",
    ]);
    expect(nextRuns(parseCron("0 12 * * *"), from, 1).map(local)).toEqual(["2026-11-21 12:00"]);
  });

  it("follows weekday names and Sunday as 7", () => {
    expect(nextRuns(parseCron("0 3 * * 7"), from, 2).map(local)).toEqual(["2026-11-22 03:00", "2026-11-29 03:00"]);
    expect(nextRuns(parseCron("30 9 * * mon-fri"), from, 3).map(local)).toEqual([
      "2026-11-23 09:30",
      "2026-11-24 09:30",
      "2026-11-25 09:30",
    ]);
  });

  it("uses cron's OR rule for day of month and weekday", () => {
    // The 13th of any month, or any Friday.
    expect(nextRuns(parseCron("0 0 13 * fri"), from, 3).map(local)).toEqual([
      "2026-11-27 00:00",
      "2026-12-04 00:00",
      "2026-12-11 00:00",
    ]);
    expect(nextRuns(parseCron("0 0 13 * fri"), new Date(2026, 11, 11, 1), 2).map(local)).toEqual([
      "2026-12-13 00:00",
      "2026-12-18 00:00",
    ]);
  });

  it("uses AND when a day field starts with *", () => {
    // Odd days of the month that are also Mondays.
    expect(nextRuns(parseCron("0 0 */2 * 1"), from, 2).map(local)).toEqual(["2026-11-23 00:00", "2026-12-07 00:00"]);
  });

  it("finds leap days years ahead", () => {
    expect(nextRuns(parseCron("0 0 29 2 *"), from, 2).map(local)).toEqual(["2028-02-29 00:00", "2032-02-29 00:00"]);
  });
});
