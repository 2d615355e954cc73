/**
 * The one event model (docs/events.md): every operation reports through a
 * Notification, and every channel renders the same fields its own way. The
 * fields are facts an admin acts on; never a secret (no URL, token, passphrase).
 */
import { userInfo } from "node:os";
import type { NotifyEvent } from "../config/index.ts";
import { hostName, SQLBAK_VERSION } from "../system/index.ts";

/** A backup removed by rotation and why. */
export interface RemovedBackup {
  id: string;
  created_at: string;
  reason: string;
}

/** The generic webhook body, and the fields every channel draws from. */
export interface Notification {
  event: NotifyEvent;
  /** false for a failure or a problem; true otherwise. */
  ok: boolean;
  title: string;
  message: string;
  host: string;
  time: string;
  version: string;
  database?: string;
  /** A `[[destination]]` name (copy.failure, verify at a destination, restore from one). */
  destination?: string;
  id?: string;
  /** backup kind (backup.start, backup.success). */
  kind?: string;
  file?: string;
  path?: string;
  raw_size?: number;
  stored_size?: number;
  duration_ms?: number;
  rotated?: number;
  /** For a shrink: the backup from before it, and its raw size. */
  previous_id?: string;
  previous_size?: number;
  error?: string;
  problems?: string[];
  /** verify: the level checked. */
  level?: string;
  /** rotate: the policy applied, what was removed and why, how many stay. */
  policy?: string;
  removed?: RemovedBackup[];
  kept?: number;
  freed_bytes?: number;
  /** restore: where the database was restored to, the safety copy and how to undo. */
  target?: string;
  pre_restore_id?: string;
  /** restore: the kept copy, when the safety copy is the replaced file itself beside the target. */
  pre_restore_file?: string;
  undo?: string;
  /** restore: the user who ran it. */
  user?: string;
  /** health.recovered: when the last unhealthy verdict was, and its problems. */
  since?: string;
  previous_problems?: string[];
  /** The newest backup of the database that is not known bad, on failures. */
  last_good_id?: string;
  last_good_at?: string;
  /** A command to look closer, e.g. `sqlbak stats app`. */
  investigate?: string;
  /** report: the status report's facts (docs/report.md); its text is `message`. */
  report?: unknown;
}

export type NotificationFields = Omit<Notification, "host" | "time" | "version" | "ok"> & { ok?: boolean };

const FAILING = new Set<NotifyEvent>(["backup.failure", "copy.failure", "verify.failure", "health.problem"]);

/** Stamps host, time and version; `ok` follows the event unless given (a failed rotation). */
export function makeNotification(fields: NotificationFields): Notification {
  const ok = fields.ok ?? !FAILING.has(fields.event);
  return { ...fields, ok, host: hostName(), time: new Date().toISOString(), version: SQLBAK_VERSION };
}

/** Who runs this process, for the restore event; "unknown" where the system cannot say. */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}

/**
 * `sqlbak <args>` naming the config file in use, so the command in an alert
 * reads the same setup as the run that sent it.
 */
export function sqlbakCommand(configFile: string | null, args: string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);
  return ["sqlbak", ...args, ...(configFile ? ["--config", configFile] : [])].map(quote).join(" ");
}

/** A test event for `notify --test`: delivered whatever a channel's `on` says. */
export function testNotification(channel: string): Notification {
  return makeNotification({
    event: "test",
    title: "sqlbak: test notification",
    message: `Test notification to channel "${channel}" from ${hostName()}: if you read this, the channel works.`,
  });
}
