/**
 * The plist reader that `install-schedule --apply` reads launchd plists back
 * with: the plists sqlbak renders read back to the values that went in, and
 * malformed XML is refused (cross-checked with xmllint where it is installed).
 */
import { describe, expect, it } from "bun:test";
import { scheduledJobs } from "../../src/lib/config/schedule.ts";
import { renderLaunchd, toCalendarIntervals } from "../../src/lib/schedule/launchd.ts";
import { PlistError, parsePlist } from "../../src/lib/schedule/plist.ts";
import { ScheduleValidationError, validatePlists } from "../../src/lib/schedule/validate.ts";

const OPTS = { system: false, writablePaths: [], logDir: "/Users/me/Library/Logs" };
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

const wrap = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n${body}\n</plist>\n`;

describe("parsePlist", () => {
  it("reads a rendered plist back to the job's arguments and calendar, escapes included", () => {
    const argv = ["/opt/my apps/sqlbak"];
    const [job] = scheduledJobs(
      { backup: "0,30 2 1,15 * *", verify: null, health: null },
      argv,
      `/etc/a&b <"it's">/ä.toml`,
    );
    const file = renderLaunchd(job!, OPTS);
    const root = parsePlist(file.content) as Record<string, unknown>;
    expect(root.Label).toBe("io.sqlbak.backup");
    expect(root.ProgramArguments).toEqual(job!.argv);
    expect(root.StartCalendarInterval).toEqual(toCalendarIntervals(job!.cron));
    expect(root.LowPriorityIO).toBe(true);
    expect(() => validatePlists([file])).not.toThrow();
    if (xmllint) expect(xmllintAccepts(file.content)).toBe(true);
  });

  it.each([
    ["a mismatched end tag", wrap("<dict><key>A</key><string>x</dict></string>")],
    ["an unknown entity", wrap("<string>&nbsp;</string>")],
    ["a bare ampersand", wrap("<string>a & b</string>")],
    ["a control character", wrap("<string>a\u0001b</string>")],
    ["content after the root", `${wrap("<true/>")}<false/>\n`],
    ["an unterminated comment", wrap("<!-- <true/>")],
  ])("refuses %s, as xmllint does", (_, text) => {
    expect(() => parsePlist(text)).toThrow(PlistError);
    if (xmllint) expect(xmllintAccepts(text)).toBe(false);
  });

  it("refuses well-formed XML that is not a plist sqlbak writes", () => {
    expect(() => parsePlist(wrap("<dict><string>no key</string></dict>"))).toThrow("expected <key> in <dict>");
    expect(() => parsePlist(wrap("<dict><key>A</key><true/><key>A</key><false/></dict>"))).toThrow('duplicate key "A"');
    expect(() => parsePlist(wrap("<integer>1.5</integer>"))).toThrow("is not an integer");
    expect(() => parsePlist(wrap("<data>AAAA</data>"))).toThrow("unsupported element <data>");
  });
});

describe("validatePlists", () => {
  it("names the file and the key launchd would not take", () => {
    const bad = (body: string) => ({ name: "io.sqlbak.backup.plist", content: wrap(body) });
    const ok =
      "<key>Label</key><string>io.sqlbak.backup</string>" +
      "<key>ProgramArguments</key><array><string>/bin/sqlbak</string></array>";
    expect(() =>
      validatePlists([
        bad(
          `<dict>${ok}<key>StartCalendarInterval</key>` +
            "<array><dict><key>Hour</key><integer>24</integer></dict></array></dict>",
        ),
      ]),
    ).toThrow(
      new ScheduleValidationError(
        "io.sqlbak.backup.plist does not parse back as a launchd job: StartCalendarInterval Hour = 24 is not valid",
      ),
    );
    expect(() => validatePlists([bad("<dict><key>Label</key><string>other</string></dict>")])).toThrow(
      'Label is not "io.sqlbak.backup"',
    );
  });
});
