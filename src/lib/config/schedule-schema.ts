/** The `[schedule]` table, checked: a cron expression per job, or false to leave it out. */
import { CronSyntaxError, parseCron } from "../model/index.ts";
import { type Checker, type Raw, typeName } from "./checker.ts";
import type { ConfigFile } from "./config-file.ts";
import { JOB_NAMES } from "./schedule.ts";

/** [schedule]: each job a cron expression (validated here), or false / "" for "do not schedule". */
export function checkSchedule(c: Checker, raw: unknown): ConfigFile["schedule"] {
  if (raw === undefined) return undefined;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    c.add("schedule", "expected a table [schedule]");
    return undefined;
  }
  const obj = raw as Raw;
  c.unknownKeys(obj, [...JOB_NAMES, "shutdown"], "schedule.");
  const out: NonNullable<ConfigFile["schedule"]> = { shutdown: c.boolean(obj, "shutdown", "schedule.") };
  for (const job of JOB_NAMES) {
    const v = obj[job];
    if (v === undefined) continue;
    if (v === false || v === "") out[job] = false;
    else if (typeof v !== "string") c.add(`schedule.${job}`, `expected a cron expression or false, got ${typeName(v)}`);
    else {
      try {
        parseCron(v);
        out[job] = v;
      } catch (err) {
        if (!(err instanceof CronSyntaxError)) throw err;
        c.add(`schedule.${job}`, `"${v}" is not a valid cron expression: ${err.message}`);
      }
    }
  }
  return out;
}
