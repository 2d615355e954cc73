/**
 * The task XML check `install-schedule --apply` runs before it writes or
 * registers Windows tasks: every task rendered for the cron corpus passes, and
 * XML that is not well-formed (cross-checked with xmllint where it is
 * installed) or not a task Task Scheduler would take is refused with the reason.
 */
import { describe, expect, it } from "bun:test";
import { scheduledJobs } from "../../src/lib/config/schedule.ts";
import { checkTaskXml, isLocalDateTime, TaskXmlError } from "../../src/lib/schedule/task-xml.ts";
import { ScheduleValidationError, validateTasks } from "../../src/lib/schedule/validate.ts";
import { renderWindows } from "../../src/lib/schedule/windows.ts";
import { CORPUS } from "../helpers/cron-corpus.ts";

const xmllint = Bun.which("xmllint");

/** Whether xmllint accepts the text as well-formed XML (null when it is not installed). */
function xmllintAccepts(text: string): boolean | null {
  if (!xmllint) return null;
  return (
    Bun.spawnSync([xmllint, "--noout", "--nonet", "-"], {
      stdin: Buffer.from(text),
      stdout: "ignore",
      stderr: "ignore",
    }).exitCode === 0
  );
}

function render(cron: string, system = false): string {
  const [job] = scheduledJobs(
    { backup: cron, verify: null, health: null },
    ['C:\\Program Files\\sqlbak "x"\\sqlbak.exe'],
    "C:\\conf\\a&b <it's>\\ä.toml",
    "C:\\env",
  );
  return renderWindows(job!, { system, writablePaths: [], logDir: "" }).content;
}

/** A rendered task (one trigger: days of month at 02:00) to break by hand. */
const GOOD = render("0 2 1,15 * *");
const broken = (from: string | RegExp, to: string) => {
  const text = GOOD.replace(from, to);
  expect(text).not.toBe(GOOD);
  return text;
};

describe("checkTaskXml", () => {
  it("accepts the task rendered for every corpus expression Windows can state, user and system, with escapes", () => {
    let checked = 0;
    for (const cron of CORPUS) {
      for (const system of [false, true]) {
        let text: string;
        try {
          text = render(cron, system);
        } catch {
          continue; // refused by the renderer (a day of month AND a weekday, or over 48 triggers): nothing to check
        }
        expect(() => checkTaskXml(text)).not.toThrow();
        if (xmllint) expect(xmllintAccepts(text)).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(100);
  });

  it.each([
    [
      "an unclosed tag",
      broken("<Enabled>true</Enabled>", "<Enabled>true"),
      "</CalendarTrigger> where </Enabled> (opened at line 5) belongs at line 5",
    ],
    [
      "a mismatched end tag",
      broken("</Command>", "</command>"),
      "</command> where </Command> (opened at line 13) belongs",
    ],
    ["a root left open", GOOD.replace("</Task>\n", ""), "<Task> is not closed at line 2"],
    ["a bare ampersand", broken("env</Arguments>", "env & more</Arguments>"), 'a bare "&" (write &amp;)'],
    ["an undefined entity", broken("IgnoreNew", "&nbsp;"), "the entity &nbsp; is not defined"],
    ["a control character", broken("Generated", "Gen\u0001erated"), "character U+0001 is not allowed in XML (line 3)"],
    [
      "a duplicate attribute",
      broken('<Task version="1.2"', '<Task version="1.2" version="1.3"'),
      "a duplicate attribute version on <Task>",
    ],
    ["an unquoted attribute", broken('Context="Author"', "Context=Author"), "a malformed start tag <Actions>"],
    ["a second root element", `${GOOD}<Task/>\n`, "content after the root element </Task>"],
    ["an unterminated comment", broken("<Triggers>", "<Triggers><!-- x"), "an unterminated comment"],
    ['"--" inside a comment', broken("<Triggers>", "<Triggers><!-- a -- b -->"), '"--" inside a comment'],
    [
      "a no-break space as white space in a tag",
      broken('<Task version="1.2"', '<Task\u00a0version="1.2"'),
      "a malformed start tag <Task>",
    ],
    ["an XML declaration after the start", `\n${GOOD}`, "an XML declaration that is not at the very start at line 2"],
    ['"]]>" in text', broken("IgnoreNew", "Ignore]]>New"), '"]]>" in text'],
  ])("refuses XML that is not well-formed: %s, as xmllint does", (_, text, reason) => {
    expect(() => checkTaskXml(text)).toThrow(TaskXmlError);
    expect(() => checkTaskXml(text)).toThrow(`not well-formed XML: ${reason}`);
    if (xmllint) expect(xmllintAccepts(text)).toBe(false);
  });

  it("reads comments, CDATA and character references as XML does, and refuses a DOCTYPE", () => {
    expect(() =>
      checkTaskXml(broken("<Command>", "<!-- the binary --><Command><![CDATA[C:\\x]]>&#x2F;")),
    ).not.toThrow();
    expect(() => checkTaskXml(broken("<Task ", '<!DOCTYPE Task [<!ENTITY e "x">]>\n<Task '))).toThrow(
      "not well-formed XML: a DOCTYPE (not allowed here) at line 2",
    );
    expect(() => checkTaskXml(broken('encoding="UTF-8"', 'encoding="UTF-16"'))).toThrow(
      "an XML declaration naming UTF-16 for a UTF-8 file at line 1",
    );
  });

  it.each([
    [
      "a bad namespace",
      broken("2004/02/mit/task", "2004/02/mit/tasks"),
      '<Task> is not in the Task Scheduler namespace (xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task")',
    ],
    ["no namespace", broken(/ xmlns="[^"]+"/, ""), "<Task> is not in the Task Scheduler namespace"],
    [
      "a namespace prefix",
      broken(/<Command>(.*)<\/Command>/, '<x:Command xmlns:x="urn:x">$1</x:Command>'),
      "<x:Command> (line 13) changes the namespace",
    ],
    [
      "a version before 1.2",
      broken('version="1.2"', 'version="1.1"'),
      '<Task version="1.1"> is not a Task Scheduler version from 1.2 on',
    ],
    ["another root", broken(/<(\/?)Task([ >])/g, "<$1Job$2"), "the root element is <Job>, not <Task>"],
    ["a missing Command", broken(/<Command>.*<\/Command>/, ""), "<Exec> (line 13) has no <Command> to run"],
    [
      "an empty Command",
      broken(/<Command>.*<\/Command>/, "<Command> </Command>"),
      "<Exec> (line 13) has no <Command> to run",
    ],
    ["no Exec", broken(/<Exec>.*<\/Exec>/, ""), "<Actions> holds no <Exec>"],
    ["no Actions", broken(/ {2}<Actions.*\n/, ""), "<Task> (line 2) has no <Actions>"],
    [
      "an Actions context naming no principal",
      broken('Context="Author"', 'Context="Other"'),
      '<Actions Context="Other"> names no <Principal id="Other">',
    ],
    ["no triggers", broken(/<CalendarTrigger>.*<\/CalendarTrigger>/, ""), "<Triggers> holds no <CalendarTrigger>"],
    [
      "a trigger of another kind",
      broken(/<CalendarTrigger>(.*)<\/CalendarTrigger>/, "<BootTrigger>$1</BootTrigger>"),
      "<BootTrigger> (line 5) is not expected in <Triggers>",
    ],
    [
      "a trigger with two schedules",
      broken("</ScheduleByMonth>", "</ScheduleByMonth><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>"),
      "<CalendarTrigger> (line 5) needs exactly one of <ScheduleByDay>, " +
        "<ScheduleByWeek>, <ScheduleByMonth>, <ScheduleByMonthDayOfWeek>, not 2",
    ],
    [
      "a day of month out of range",
      broken("<Day>15</Day>", "<Day>32</Day>"),
      '<Day> (line 5) "32" is not a day of month from 1 to 31 or Last',
    ],
    ["an unknown month", broken("<May/>", "<Mai/>"), "<Mai> (line 5) is not expected in <Months>"],
    [
      "a missing StartBoundary",
      broken(/<StartBoundary>.*<\/StartBoundary>/, ""),
      "<CalendarTrigger> (line 5) has no <StartBoundary>",
    ],
    [
      "a StartBoundary in month 13",
      broken("2000-01-01T02:00:00", "2000-13-01T02:00:00"),
      '<StartBoundary> (line 5) "2000-13-01T02:00:00" is not a local date and time (YYYY-MM-DDTHH:MM:SS, no zone)',
    ],
    [
      "a StartBoundary on February 30",
      broken("2000-01-01T02:00:00", "2000-02-30T02:00:00"),
      '"2000-02-30T02:00:00" is not a local date and time',
    ],
    [
      "a StartBoundary at 24:00",
      broken("2000-01-01T02:00:00", "2000-01-01T24:00:00"),
      '"2000-01-01T24:00:00" is not a local date and time',
    ],
    [
      "a StartBoundary in UTC",
      broken("2000-01-01T02:00:00", "2000-01-01T02:00:00Z"),
      '"2000-01-01T02:00:00Z" is not a local date and time',
    ],
    [
      "a StartBoundary without seconds",
      broken("2000-01-01T02:00:00", "2000-01-01T02:00"),
      '"2000-01-01T02:00" is not a local date and time',
    ],
    [
      "a non-boolean setting",
      broken("<StartWhenAvailable>true<", "<StartWhenAvailable>yes<"),
      '<StartWhenAvailable> (line 9) "yes" is not true or false',
    ],
    [
      "text between elements",
      broken("<Triggers>", "<Triggers>oops"),
      "<Triggers> (line 4) holds text where only elements belong",
    ],
    [
      "a Command holding an element",
      broken(/<Command>(.*)<\/Command>/, "<Command><b/>$1</Command>"),
      "<Command> (line 13) holds elements where a value belongs",
    ],
  ])("refuses a task Task Scheduler would not take: %s", (_, text, reason) => {
    expect(() => checkTaskXml(text)).toThrow(TaskXmlError);
    expect(() => checkTaskXml(text)).toThrow(reason);
  });

  it("checks a repeating trigger's Interval and Duration", () => {
    const every15 = render("*/15 * * * *");
    expect(every15).toContain("<Interval>PT15M</Interval><Duration>PT23H46M</Duration>");
    expect(() => checkTaskXml(every15)).not.toThrow();
    expect(() => checkTaskXml(every15.replace("PT15M", "PT0M"))).toThrow(
      '<Interval> (line 5) "PT0M" is not a duration from 1 minute to 31 days (e.g. PT15M)',
    );
    expect(() => checkTaskXml(every15.replace("PT15M", "15 minutes"))).toThrow('"15 minutes" is not a duration');
    expect(() => checkTaskXml(every15.replace("PT23H46M", "PT10M"))).toThrow(
      '<Duration> (line 5) "PT10M" is not a duration at least as long as the Interval',
    );
  });

  it("takes a local date and time only when the day exists", () => {
    expect(isLocalDateTime("2000-02-29T23:59:59")).toBe(true);
    expect(isLocalDateTime("2001-02-29T00:00:00")).toBe(false);
    expect(isLocalDateTime("2000-04-31T00:00:00")).toBe(false);
    expect(isLocalDateTime("2000-01-01T00:60:00")).toBe(false);
    expect(isLocalDateTime("2000-01-01T00:00:00+01:00")).toBe(false);
  });
});

describe("validateTasks", () => {
  it("names the file and the reason as a validation error (exit 2)", () => {
    const file = { name: "sqlbak-backup.xml", content: broken(/<Command>.*<\/Command>/, "") };
    expect(() => validateTasks([{ name: "sqlbak-verify.xml", content: GOOD }, file])).toThrow(
      new ScheduleValidationError(
        "sqlbak-backup.xml is not a task Task Scheduler would take: <Exec> (line 13) has no <Command> to run",
      ),
    );
    expect(() => validateTasks([{ name: "sqlbak-verify.xml", content: GOOD }])).not.toThrow();
  });
});
