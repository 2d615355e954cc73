import { makeNotification, type Notification } from "../notify/index.ts";
import type { VerifyResult } from "./run.ts";

/**
 * One event per verified backup: `verify.success`, or `verify.failure` for a
 * backup that failed its checks or could not be verified at all.
 */
export function verifyNotification(r: VerifyResult, file?: string, destination?: string): Notification {
  const where = destination ? ` at destination ${destination}` : "";
  const common = {
    database: r.database,
    destination,
    id: r.id,
    file,
    level: r.level,
    duration_ms: r.durationMs,
  };
  if (r.ok)
    return makeNotification({
      event: "verify.success",
      title: `sqlbak: ${r.id} verified`,
      message: `Backup ${r.id} of ${r.database} passed ${r.level} verification${where} in ${(r.durationMs / 1000).toFixed(1)}s`,
      ...common,
    });
  const what = r.error ? `could not be verified${where}` : `FAILED ${r.level} verification${where}`;
  return makeNotification({
    event: "verify.failure",
    title: r.error
      ? `sqlbak: backup ${r.id} of ${r.database} could not be verified`
      : `sqlbak: verification of ${r.id} FAILED`,
    message: `Backup ${r.id} of ${r.database} ${what}: ${r.problems.join("; ")}`,
    ...common,
    error: r.problems.join("; "),
    problems: r.problems,
  });
}
