/**
 * The systemd checks `install-schedule --apply` runs before writing: a timer
 * line systemd cannot parse passes `systemd-analyze verify` (it is only
 * "ignored"), so every OnCalendar= also goes through `systemd-analyze calendar`.
 */
import { describe, expect, it } from "bun:test";
import { ScheduleValidationError, validateSystemdUnits } from "../../src/lib/schedule/validate.ts";

const have = Bun.which("systemd-analyze") !== null;
const service = {
  name: "sqlbak-backup.service",
  content: "[Unit]\nDescription=x\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
};
const timer = (lines: string[]) => ({
  name: "sqlbak-backup.timer",
  content:
    `[Unit]\nDescription=t\n\n[Timer]\n${lines.map((l) => `OnCalendar=${l}\n`).join("")}\n` +
    "[Install]\nWantedBy=timers.target\n",
});

describe("validateSystemdUnits", () => {
  if (!have) console.warn("skipped the systemd-analyze checks: not installed (./install.sh --test-deps installs it)");

  it.skipIf(!have)("accepts units systemd takes", () => {
    const steps: string[] = [];
    validateSystemdUnits([service, timer(["*-*-* 02:00:00", "Mon,Wed *-*-* 03:30:00"])], process.env, (m) =>
      steps.push(m),
    );
    expect(steps).toEqual(["checking sqlbak-backup.service, sqlbak-backup.timer with systemd-analyze verify"]);
  });

  it.skipIf(!have)("refuses a timer with one OnCalendar= systemd would ignore, naming it", () => {
    const bad = timer(["*-*-* 02:00:00", "Mon/2 *-*-* 02:00:00"]);
    expect(() => validateSystemdUnits([service, bad], process.env, () => {})).toThrow(ScheduleValidationError);
    expect(() => validateSystemdUnits([service, bad], process.env, () => {})).toThrow(
      "systemd-analyze calendar rejected OnCalendar=Mon/2 *-*-* 02:00:00 in sqlbak-backup.timer: " +
        "Failed to parse calendar specification 'Mon/2 *-*-* 02:00:00': Invalid argument",
    );
  });

  it.skipIf(!have)("refuses a service systemd will not start, without the temporary folder in the message", () => {
    const broken = {
      name: service.name,
      content: service.content.replace("ExecStart=/bin/true", 'ExecStart=/bin/true "unbalanced'),
    };
    expect(() => validateSystemdUnits([broken, timer(["*-*-* 02:00:00"])], process.env, () => {})).toThrow(
      /^systemd-analyze verify rejected the generated units: sqlbak-backup\.service:6: Unbalanced quoting/,
    );
  });
});
