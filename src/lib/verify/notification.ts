import { makeNotification, type Notification } from "../notify/index.ts";
import type { VerifyResult } from "./run.ts";

/** A verification that failed (or could not be done) is sent as a `failure` event, like a failed backup. */
export function verifyNotification(r: VerifyResult, file?: string, destination?: string): Notification {
  const where = destination ? ` at destination ${destination}` : "";
  const what = r.error ? `could not be verified${where}` : `FAILED ${r.level} verification${where}`;
  return makeNotification({
    event: "failure",
    title: r.error
      ? `sqlbak: backup ${r.id} of ${r.database} could not be verified`
      : `sqlbak: verification of ${r.id} FAILED`,
    message: `Backup ${r.id} of ${r.database} ${what}: ${r.problems.join("; ")}`,
    database: r.database,
    destination,
    id: r.id,
    file,
    duration_ms: r.durationMs,
    error: r.problems.join("; "),
    problems: r.problems,
  });
}
