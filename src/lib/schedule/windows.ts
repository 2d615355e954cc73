/**
 * Windows Task Scheduler: one task XML per job, registered with
 * `schtasks /Create /XML`. A CalendarTrigger fires once a day (or on chosen
 * weekdays / days of month / months) at one time, optionally repeating every
 * fixed interval for a while. So the times of day must be one time, an evenly
 * spaced series within the day (`*\/15 * * * *`, `0 *\/6 * * *`, `0,30 9-17 * * *`),
 * or few enough for one trigger each: a task holds at most 48 triggers, so
 * `*\/7 * * * *` (uneven across the hour boundary, 216 times a day) is refused.
 */

import type { ScheduledJob } from "../config/index.ts";
import type { CronExpr } from "../model/index.ts";
import { type RenderedFile, type RenderOptions, UnsupportedScheduleError, xmlEscape } from "./common.ts";

/** Task Scheduler rejects a task with more than 48 triggers. */
export const MAX_WINDOWS_TRIGGERS = 48;
/** Task Scheduler's element names for days and months, in calendar order. */
export const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
export const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
/** Any fixed past date: only the time of day matters for daily/weekly(1)/monthly triggers. */
const START_DATE = "2000-01-01";

interface TimeTrigger {
  /** Minutes after midnight of the first run. */
  start: number;
  repeat?: { everyMin: number; forMin: number };
}

/** Groups the day's run times into triggers: one repeating trigger for an even series, else one per time. */
function timeTriggers(e: CronExpr): TimeTrigger[] {
  const times = e.hour.values.flatMap((h) => e.minute.values.map((m) => h * 60 + m));
  if (times.length === 1) return [{ start: times[0]! }];
  const every = times[1]! - times[0]!;
  if (times.every((t, i) => t === times[0]! + i * every)) {
    // The duration ends one minute after the last run, so that run is inside it and the next is not.
    return [{ start: times[0]!, repeat: { everyMin: every, forMin: (times.length - 1) * every + 1 } }];
  }
  return times.map((start) => ({ start }));
}

function schedules(e: CronExpr): string[] {
  const months = `<Months>${e.month.values.map((m) => `<${MONTH_NAMES[m - 1]}/>`).join("")}</Months>`;
  const byMonthDays = (days: number[]) =>
    `<ScheduleByMonth><DaysOfMonth>${days.map((d) => `<Day>${d}</Day>`).join("")}</DaysOfMonth>` +
    `${months}</ScheduleByMonth>`;
  const weekdays = `<DaysOfWeek>${e.dow.values.map((d) => `<${DAY_NAMES[d]}/>`).join("")}</DaysOfWeek>`;
  // Weeks 1-4 and Last cover every occurrence of a weekday in a month (the 5th is always the last).
  const byWeekdays = e.month.full
    ? `<ScheduleByWeek><WeeksInterval>1</WeeksInterval>${weekdays}</ScheduleByWeek>`
    : "<ScheduleByMonthDayOfWeek>" +
      "<Weeks><Week>1</Week><Week>2</Week><Week>3</Week><Week>4</Week><Week>Last</Week></Weeks>" +
      `${weekdays}${months}</ScheduleByMonthDayOfWeek>`;
  const everyDay = e.month.full
    ? "<ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>"
    : byMonthDays(Array.from({ length: 31 }, (_, i) => i + 1));
  const orDays = !e.dom.star && !e.dow.star;
  if ((e.dom.full && e.dow.full) || (orDays && (e.dom.full || e.dow.full))) return [everyDay];
  if (orDays) return [byMonthDays(e.dom.values), byWeekdays];
  if (e.dow.full) return [byMonthDays(e.dom.values)];
  if (e.dom.full) return [byWeekdays];
  throw new UnsupportedScheduleError(
    `windows: "${e.source}" needs a day of month AND a weekday, which a Task Scheduler trigger cannot state`,
    "list the days of month explicitly (e.g. `1,15`), or use `*` for the day of month",
  );
}

function duration(min: number): string {
  const [h, m] = [Math.floor(min / 60), min % 60];
  return `PT${h ? `${h}H` : ""}${m || !h ? `${m}M` : ""}`;
}

/**
 * Given a cron expression, return the `<CalendarTrigger>` elements that fire
 * at the same local times; throws UnsupportedScheduleError when they would
 * exceed MAX_WINDOWS_TRIGGERS or the day rule cannot be stated.
 */
export function toCalendarTriggers(e: CronExpr): string[] {
  const times = timeTriggers(e);
  const days = schedules(e);
  if (times.length * days.length > MAX_WINDOWS_TRIGGERS) {
    throw new UnsupportedScheduleError(
      `windows: "${e.source}" runs at ${times.length} unevenly spaced times a day, ` +
        `which needs ${times.length * days.length} triggers (at most ${MAX_WINDOWS_TRIGGERS})`,
      "use evenly spaced times that fit in a day, e.g. `*/15 * * * *`, `0 */6 * * *` or `0 9-17 * * *`, or fewer times",
    );
  }
  return days.flatMap((schedule) =>
    times.map((t) => {
      const hh = String(Math.floor(t.start / 60)).padStart(2, "0");
      const start = `${START_DATE}T${hh}:${String(t.start % 60).padStart(2, "0")}:00`;
      const repeat = t.repeat
        ? `<Repetition><Interval>${duration(t.repeat.everyMin)}</Interval>` +
          `<Duration>${duration(t.repeat.forMin)}</Duration><StopAtDurationEnd>false</StopAtDurationEnd></Repetition>`
        : "";
      return (
        `<CalendarTrigger>${repeat}<StartBoundary>${start}</StartBoundary>` +
        `<Enabled>true</Enabled>${schedule}</CalendarTrigger>`
      );
    }),
  );
}

/** Windows command-line quoting (CommandLineToArgvW rules, simplified: no trailing backslashes before a quote). */
function winQuote(arg: string): string {
  return /[\s"]/.test(arg) ? `"${arg.replaceAll('"', '\\"')}"` : arg;
}

/** The task name a job is registered under (a folder keeps them together in the Task Scheduler UI). */
export function windowsTaskName(job: ScheduledJob): string {
  return `\\sqlbak\\${job.name}`;
}

/**
 * Given a job, return its task XML. System tasks run as SYSTEM;
 * user tasks as the registering user, logged on or not (S4U).
 */
export function renderWindows(job: ScheduledJob, opts: RenderOptions): RenderedFile {
  const [command, ...args] = job.argv;
  const principal = opts.system
    ? "<UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel>"
    : "<LogonType>S4U</LogonType><RunLevel>LeastPrivilege</RunLevel>";
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    `  <RegistrationInfo><Description>sqlbak ${job.name}: ${xmlEscape(job.description)} ` +
      `(cron: ${xmlEscape(job.cron.source)}). Generated by sqlbak install-schedule.</Description>` +
      `<URI>${xmlEscape(windowsTaskName(job))}</URI></RegistrationInfo>`,
    "  <Triggers>",
    ...toCalendarTriggers(job.cron).map((t) => `    ${t}`),
    "  </Triggers>",
    `  <Principals><Principal id="Author">${principal}</Principal></Principals>`,
    "  <Settings>",
    // StartWhenAvailable: a run missed while the machine was off happens when it is back (like Persistent=true).
    "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><StartWhenAvailable>true</StartWhenAvailable>",
    "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>" +
      "<StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>",
    "    <ExecutionTimeLimit>PT12H</ExecutionTimeLimit><Priority>7</Priority><Enabled>true</Enabled>",
    "  </Settings>",
    `  <Actions Context="Author"><Exec><Command>${xmlEscape(command!)}</Command>` +
      `<Arguments>${xmlEscape(args.map(winQuote).join(" "))}</Arguments></Exec></Actions>`,
    "</Task>",
    "",
  ];
  return { name: `sqlbak-${job.name}.xml`, content: lines.join("\n") };
}

/** The command that registers (or, with /F, replaces) a task from its XML file. */
export function schtasksCreate(job: ScheduledJob, xmlPath: string): string {
  return `schtasks /Create /XML ${winQuote(xmlPath)} /TN ${windowsTaskName(job)} /F`;
}
