/**
 * Notifications: ntfy, a JSON webhook and a local command, on the events
 * configured in `[notify] on`. Each sender has a timeout and one retry. A
 * notification that fails is reported back as a warning (and logged by the
 * caller); it never changes the outcome or exit code of what it reports.
 */
import { hostname } from "node:os";
import type { NotifyConfig, NotifyEvent, ResolvedConfig } from "../config/index.ts";
import { describeError } from "../model/index.ts";
import { appendOpLog } from "../store/index.ts";

const RETRY_DELAY_MS = 1_000;

/** The webhook body, and the fields every sender draws from (docs/notifications.md). */
export interface Notification {
  event: NotifyEvent;
  title: string;
  message: string;
  host: string;
  time: string;
  database?: string;
  /** A `[[destination]]` name, for copy failures. */
  destination?: string;
  id?: string;
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
  /** For a `report` event: the report's facts (docs/report.md). */
  report?: object;
}

export function makeNotification(fields: Omit<Notification, "host" | "time">): Notification {
  return { ...fields, host: hostname(), time: new Date().toISOString() };
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  const res = await fetch(url, { method: "POST", body, headers, signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

function sendNtfy(cfg: NotifyConfig, n: Notification): Promise<void> {
  const urgent = n.event === "failure" || n.event === "health";
  const headers: Record<string, string> = {
    Title: n.title,
    Priority: urgent ? "high" : "default",
    Tags:
      n.event === "success"
        ? "white_check_mark"
        : n.event === "failure"
          ? "rotating_light"
          : n.event === "report"
            ? "bar_chart"
            : "warning",
  };
  if (cfg.ntfyToken) headers.Authorization = `Bearer ${cfg.ntfyToken}`;
  return post(cfg.ntfy!, n.message, headers, cfg.timeoutMs);
}

function sendWebhook(cfg: NotifyConfig, n: Notification): Promise<void> {
  return post(cfg.webhook!, JSON.stringify(n), { "Content-Type": "application/json" }, cfg.timeoutMs);
}

/** Environment for the command hook: every field as SQLBAK_<FIELD>. */
export function commandEnv(n: Notification): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(n)) {
    if (v === undefined) continue;
    env[`SQLBAK_${k.toUpperCase()}`] = Array.isArray(v)
      ? v.join("\n")
      : typeof v === "object"
        ? JSON.stringify(v)
        : String(v);
  }
  return env;
}

/** What any command needs to run and format output; everything else must be listed in `command_env`. */
export const COMMAND_BASE_ENV = ["PATH", "HOME", "LANG", "TZ", "USER", "LOGNAME", "SHELL"];

/**
 * The command's whole environment: the ordinary variables, the listed ones and
 * the event. Never the rest of sqlbak's environment, which holds passphrases,
 * cloud keys and tokens; never a variable the config reads a secret from.
 */
export function commandEnvironment(
  cfg: NotifyConfig,
  n: Notification,
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const allowed = new Set([...COMMAND_BASE_ENV, ...(cfg.commandEnv ?? [])]);
  const secret = new Set(cfg.secretEnv ?? []);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) {
    if (v === undefined || secret.has(k) || k.startsWith("AWS_")) continue;
    if (allowed.has(k) || k.startsWith("LC_")) env[k] = v;
  }
  return { ...env, ...commandEnv(n) };
}

async function sendCommand(cfg: NotifyConfig, n: Notification): Promise<void> {
  const proc = Bun.spawn(["/bin/sh", "-c", cfg.command!], {
    env: commandEnvironment(cfg, n),
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    timeout: cfg.timeoutMs,
    killSignal: "SIGKILL",
  });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (proc.signalCode) throw new Error(`timed out after ${cfg.timeoutMs} ms`);
  if (code !== 0) throw new Error(`exited ${code}${err.trim() ? `: ${err.trim().split("\n")[0]}` : ""}`);
}

async function withRetry(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch {
    await Bun.sleep(RETRY_DELAY_MS);
    await fn();
  }
}

/** The channels that would get an event: configured, with the event in `on`. */
export function channelsFor(cfg: NotifyConfig, event: NotifyEvent): string[] {
  if (!cfg.on.includes(event)) return [];
  return (["ntfy", "webhook", "command"] as const).filter((c) => cfg[c]);
}

/**
 * Sends `n` through every configured channel if its event is enabled. Returns
 * one warning per channel that failed after its retry (empty when all went).
 */
export async function notify(cfg: NotifyConfig, n: Notification): Promise<string[]> {
  if (!cfg.on.includes(n.event)) return [];
  const channels: [string, (() => Promise<void>) | null][] = [
    ["ntfy", cfg.ntfy ? () => sendNtfy(cfg, n) : null],
    ["webhook", cfg.webhook ? () => sendWebhook(cfg, n) : null],
    ["command", cfg.command ? () => sendCommand(cfg, n) : null],
  ];
  const outcomes = await Promise.all(
    channels.map(async ([name, send]) => {
      if (!send) return null;
      try {
        await withRetry(send);
        return null;
      } catch (err) {
        const why = (err as Error).name === "TimeoutError" ? `timed out after ${cfg.timeoutMs} ms` : describeError(err);
        return `${name} notification failed: ${why}`;
      }
    }),
  );
  return outcomes.filter((w): w is string => w !== null);
}

/** Sends each notification; returns one warning per failed channel, each also logged. */
export async function sendNotifications(config: ResolvedConfig, notes: Notification[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const n of notes) {
    for (const w of await notify(config.notify, n)) {
      warnings.push(w);
      appendOpLog(config.logFile, { op: "notify", event: n.event, database: n.database, ok: false, error: w });
    }
  }
  return warnings;
}
