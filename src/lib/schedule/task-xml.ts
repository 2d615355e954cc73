/**
 * Reads a Task Scheduler task definition back the way `schtasks /Create /XML`
 * will, for the shape ./windows.ts renders: well-formed XML (./xml.ts) whose
 * root is <Task> in the Task Scheduler namespace with a version of 1.2 or
 * later; Triggers holding 1 to 48 CalendarTriggers, each with a StartBoundary
 * that is a real local date and time (no zone: the task fires at local times)
 * and exactly one day schedule; Principals; Settings; Actions with an Exec
 * whose Command is not empty. Throws TaskXmlError naming the element and line.
 */
import { DAY_NAMES, MAX_WINDOWS_TRIGGERS, MONTH_NAMES } from "./windows.ts";
import { parseXml, type XmlElement, XmlError } from "./xml.ts";

const TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task";

export class TaskXmlError extends Error {}

const SCHEDULES = ["ScheduleByDay", "ScheduleByWeek", "ScheduleByMonth", "ScheduleByMonthDayOfWeek"];
const BOOLEAN = /^(true|false|1|0)$/;
const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

const where = (el: XmlElement) => `<${el.name}> (line ${el.line})`;
function fail(message: string): never {
  throw new TaskXmlError(message);
}

/**
 * The children of `el`, checked: only `allowed` names, each at most once unless `repeats`, and no text between them.
 */
function kids(el: XmlElement, allowed: string[], repeats: string[] = []): Map<string, XmlElement[]> {
  if (el.text.trim()) fail(`${where(el)} holds text where only elements belong`);
  const out = new Map<string, XmlElement[]>();
  for (const c of el.children) {
    if (!allowed.includes(c.name)) fail(`${where(c)} is not expected in <${el.name}>`);
    const list = out.get(c.name) ?? [];
    if (list.length && !repeats.includes(c.name)) fail(`${where(c)} appears twice in <${el.name}>`);
    out.set(c.name, [...list, c]);
  }
  return out;
}

function required(map: Map<string, XmlElement[]>, name: string, parent: XmlElement): XmlElement {
  return map.get(name)?.[0] ?? fail(`${where(parent)} has no <${name}>`);
}

/** The trimmed text of a leaf element. */
function value(el: XmlElement): string {
  if (el.children.length) fail(`${where(el)} holds elements where a value belongs`);
  return el.text.trim();
}

function check(el: XmlElement | undefined, ok: (v: string) => boolean, expected: string): void {
  if (el && !ok(value(el))) fail(`${where(el)} "${value(el)}" is not ${expected}`);
}

/** Minutes in an xs:duration (months and years at 30 and 365 days, for comparisons only); null when it is not one. */
function durationMinutes(text: string): number | null {
  const m = DURATION.exec(text);
  if (!m || text === "P") return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return (y * 365 + mo * 30 + d) * 1440 + h * 60 + mi + s / 60;
}

/** `YYYY-MM-DDTHH:MM:SS`, a date that exists, no zone and no fraction. */
export function isLocalDateTime(text: string): boolean {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)$/.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && h <= 23 && mi <= 59 && s <= 59;
}

/**
 * An element listing names as empty children
 * (<DaysOfWeek><Monday/></DaysOfWeek>): at least one, each known, none twice.
 */
function nameList(el: XmlElement, names: string[]): void {
  kids(el, names);
  if (el.children.length === 0) fail(`${where(el)} is empty`);
  for (const c of el.children) if (c.children.length || c.text.trim()) fail(`${where(c)} must be empty`);
}

function valueList(el: XmlElement, item: string, ok: (v: string) => boolean, expected: string): void {
  const items = kids(el, [item], [item]).get(item) ?? fail(`${where(el)} is empty`);
  for (const i of items) check(i, ok, expected);
}

const intIn = (lo: number, hi: number) => (v: string) => /^[0-9]+$/.test(v) && Number(v) >= lo && Number(v) <= hi;

/** The elements each day schedule may hold. */
const SCHEDULE_PARTS: Record<string, string[]> = {
  ScheduleByDay: ["DaysInterval"],
  ScheduleByWeek: ["WeeksInterval", "DaysOfWeek"],
  ScheduleByMonth: ["DaysOfMonth", "Months"],
  ScheduleByMonthDayOfWeek: ["Weeks", "DaysOfWeek", "Months"],
};

function checkSchedule(s: XmlElement): void {
  const k = kids(s, SCHEDULE_PARTS[s.name]!);
  const need = (name: string) => required(k, name, s);
  if (s.name === "ScheduleByDay") check(need("DaysInterval"), intIn(1, 365), "a number of days from 1 to 365");
  if (s.name === "ScheduleByWeek") check(k.get("WeeksInterval")?.[0], intIn(1, 52), "a number of weeks from 1 to 52");
  if (s.name === "ScheduleByWeek" || s.name === "ScheduleByMonthDayOfWeek") nameList(need("DaysOfWeek"), DAY_NAMES);
  if (s.name === "ScheduleByMonth")
    valueList(
      need("DaysOfMonth"),
      "Day",
      (v) => v === "Last" || intIn(1, 31)(v),
      "a day of month from 1 to 31 or Last",
    );
  if (s.name === "ScheduleByMonthDayOfWeek")
    valueList(need("Weeks"), "Week", (v) => v === "Last" || intIn(1, 4)(v), "a week from 1 to 4 or Last");
  if (k.has("Months")) nameList(need("Months"), MONTH_NAMES);
}

function checkTrigger(t: XmlElement): void {
  const k = kids(t, [
    "StartBoundary",
    "EndBoundary",
    "Enabled",
    "Repetition",
    "ExecutionTimeLimit",
    "RandomDelay",
    ...SCHEDULES,
  ]);
  check(required(k, "StartBoundary", t), isLocalDateTime, "a local date and time (YYYY-MM-DDTHH:MM:SS, no zone)");
  check(k.get("EndBoundary")?.[0], isLocalDateTime, "a local date and time (YYYY-MM-DDTHH:MM:SS, no zone)");
  check(k.get("Enabled")?.[0], (v) => BOOLEAN.test(v), "true or false");
  const schedules = SCHEDULES.flatMap((n) => k.get(n) ?? []);
  if (schedules.length !== 1)
    fail(`${where(t)} needs exactly one of <${SCHEDULES.join(">, <")}>, not ${schedules.length}`);
  checkSchedule(schedules[0]!);
  const rep = k.get("Repetition")?.[0];
  if (rep) {
    const r = kids(rep, ["Interval", "Duration", "StopAtDurationEnd"]);
    const interval = required(r, "Interval", rep);
    const every = durationMinutes(value(interval));
    if (every === null || every < 1 || every > 31 * 1440)
      fail(`${where(interval)} "${value(interval)}" is not a duration from 1 minute to 31 days (e.g. PT15M)`);
    const dur = r.get("Duration")?.[0];
    if (dur) {
      const span = durationMinutes(value(dur));
      if (span === null || span < every)
        fail(`${where(dur)} "${value(dur)}" is not a duration at least as long as the Interval`);
    }
    check(r.get("StopAtDurationEnd")?.[0], (v) => BOOLEAN.test(v), "true or false");
  }
}

const REGISTRATION_INFO = [
  "URI",
  "SecurityDescriptor",
  "Source",
  "Date",
  "Author",
  "Version",
  "Description",
  "Documentation",
];
const SETTINGS_FLAGS = [
  "AllowStartOnDemand",
  "DisallowStartIfOnBatteries",
  "StopIfGoingOnBatteries",
  "AllowHardTerminate",
  "StartWhenAvailable",
  "RunOnlyIfNetworkAvailable",
  "WakeToRun",
  "Enabled",
  "Hidden",
  "RunOnlyIfIdle",
  "UseUnifiedSchedulingEngine",
  "DisallowStartOnRemoteAppSession",
  "Volatile",
];
const SETTINGS_OTHER = [
  "RestartOnFailure",
  "MultipleInstancesPolicy",
  "NetworkProfileName",
  "DeleteExpiredTaskAfter",
  "IdleSettings",
  "NetworkSettings",
  "ExecutionTimeLimit",
  "Priority",
  "MaintenanceSettings",
];

function checkSettings(s: XmlElement): void {
  const k = kids(s, [...SETTINGS_FLAGS, ...SETTINGS_OTHER]);
  for (const flag of SETTINGS_FLAGS) check(k.get(flag)?.[0], (v) => BOOLEAN.test(v), "true or false");
  check(
    k.get("MultipleInstancesPolicy")?.[0],
    (v) => ["Parallel", "Queue", "IgnoreNew", "StopExisting"].includes(v),
    "Parallel, Queue, IgnoreNew or StopExisting",
  );
  check(k.get("ExecutionTimeLimit")?.[0], (v) => durationMinutes(v) !== null, "a duration (e.g. PT12H)");
  check(k.get("Priority")?.[0], intIn(0, 10), "a priority from 0 to 10");
}

/** Given the text of a task XML file, check it as described above; throws TaskXmlError. */
export function checkTaskXml(text: string): void {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (err) {
    if (err instanceof XmlError) fail(`not well-formed XML: ${err.message}`);
    throw err;
  }
  if (root.name !== "Task") fail(`the root element is <${root.name}>, not <Task>`);
  if (root.attrs.xmlns !== TASK_NAMESPACE)
    fail(`<Task> is not in the Task Scheduler namespace (xmlns="${TASK_NAMESPACE}")`);
  if (!/^1\.[2-9]$/.test(root.attrs.version ?? ""))
    fail(`<Task version="${root.attrs.version ?? ""}"> is not a Task Scheduler version from 1.2 on`);
  const visit = (el: XmlElement) => {
    if (el.name.includes(":") || Object.keys(el.attrs).some((a) => a.includes(":") || (a === "xmlns" && el !== root)))
      fail(`${where(el)} changes the namespace`);
    el.children.forEach(visit);
  };
  visit(root);
  const task = kids(root, ["RegistrationInfo", "Triggers", "Principals", "Settings", "Data", "Actions"]);

  const triggers =
    kids(required(task, "Triggers", root), ["CalendarTrigger"], ["CalendarTrigger"]).get("CalendarTrigger") ?? [];
  if (triggers.length === 0) fail("<Triggers> holds no <CalendarTrigger>");
  if (triggers.length > MAX_WINDOWS_TRIGGERS)
    fail(`<Triggers> holds ${triggers.length} triggers (Task Scheduler takes at most ${MAX_WINDOWS_TRIGGERS})`);
  triggers.forEach(checkTrigger);

  const principals =
    kids(required(task, "Principals", root), ["Principal"], ["Principal"]).get("Principal") ??
    fail("<Principals> holds no <Principal>");
  for (const p of principals) {
    const k = kids(p, [
      "UserId",
      "GroupId",
      "LogonType",
      "RunLevel",
      "DisplayName",
      "ProcessTokenSidType",
      "RequiredPrivileges",
    ]);
    if (!k.has("UserId") && !k.has("LogonType") && !k.has("GroupId"))
      fail(`${where(p)} names no <UserId>, <GroupId> or <LogonType>`);
    check(
      k.get("LogonType")?.[0],
      (v) => ["S4U", "Password", "InteractiveToken", "InteractiveTokenOrPassword"].includes(v),
      "a logon type (S4U, Password, InteractiveToken)",
    );
    check(
      k.get("RunLevel")?.[0],
      (v) => v === "LeastPrivilege" || v === "HighestAvailable",
      "LeastPrivilege or HighestAvailable",
    );
  }

  checkSettings(required(task, "Settings", root));
  const info = task.get("RegistrationInfo")?.[0];
  if (info) for (const c of kids(info, REGISTRATION_INFO).values()) value(c[0]!);

  const actions = required(task, "Actions", root);
  const context = actions.attrs.Context;
  if (context !== undefined && !principals.some((p) => p.attrs.id === context))
    fail(`<Actions Context="${context}"> names no <Principal id="${context}">`);
  const execs = kids(actions, ["Exec"], ["Exec"]).get("Exec") ?? fail("<Actions> holds no <Exec>");
  for (const e of execs) {
    const k = kids(e, ["Command", "Arguments", "WorkingDirectory"]);
    const command = k.get("Command")?.[0];
    if (!command || value(command) === "") fail(`${where(e)} has no <Command> to run`);
    if (k.has("Arguments")) value(k.get("Arguments")![0]!);
  }
}
