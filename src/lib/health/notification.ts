/**
 * The health events of a `stats --check`: `health.problem` for an unhealthy
 * verdict, `health.recovered` for a healthy one after an unhealthy one. Each
 * verdict is appended to the op log (`op: "health"`), which is the only memory:
 * sqlbak keeps no state of its own between runs.
 */
import type { ResolvedConfig } from "../config/index.ts";
import { makeNotification, type Notification } from "../notify/index.ts";
import { appendOpLog, readOpLog } from "../store/index.ts";

/** One list of problems per scope: `stats --check app --local` is judged against its own previous verdict. */
export function healthScope(name: string | undefined, local: boolean): string {
  return `${name ?? "all"}${local ? " (local)" : ""}`;
}

/**
 * Records this verdict and returns the event it calls for: a problem event
 * every unhealthy check (a reminder each time), a recovery once.
 */
export function healthNotifications(config: ResolvedConfig, problems: string[], scope: string): Notification[] {
  const previous = readOpLog(config.logFile).findLast((e) => e.op === "health" && e.scope === scope);
  appendOpLog(config.logFile, { op: "health", scope, ok: problems.length === 0, problems });
  if (problems.length > 0)
    return [
      makeNotification({
        event: "health.problem",
        title: `sqlbak: ${problems.length} health problem${problems.length > 1 ? "s" : ""}`,
        message: problems.join("\n"),
        problems,
      }),
    ];
  if (!previous || previous.ok) return [];
  const before = Array.isArray(previous.problems) ? (previous.problems as string[]) : [];
  return [
    makeNotification({
      event: "health.recovered",
      title: "sqlbak: healthy again",
      message: `Every health check passes again (${scope}); unhealthy since ${previous.ts} with: ${before.join("; ")}`,
      since: previous.ts,
      previous_problems: before,
    }),
  ];
}
