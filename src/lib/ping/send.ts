/**
 * Dead-man's-switch pings (docs/pings.md): a run signals start, success or
 * failure to a monitor that alerts when the signals stop coming. The request
 * shape per style: healthchecks.io (`<url>/start`, `<url>`, `<url>/<exit code>`,
 * POST with the log tail as body, `rid` pairing start and end); Uptime Kuma
 * push monitors (`status=up|down`, `msg`, `ping`; no start signal); cronitor
 * (`state=run|complete|fail`, `series`, `message`, `status_code`). A ping that
 * fails is retried once, logged (`op: "ping"`) and returned as a warning; it
 * never changes an outcome. The URL embeds a token: it never reaches a log.
 */
import { randomUUID } from "node:crypto";
import type { PingStyle, PingUrl, ResolvedConfig } from "../config/index.ts";
import { describeError } from "../model/index.ts";
import { appendOpLog } from "../store/index.ts";

export type PingKind = "start" | "success" | "fail";

/** What one ping says. */
export interface PingSignal {
  kind: PingKind;
  /** Run id: the same for a run's start and its end. */
  rid: string;
  /** The run's exit code, for a failure (healthchecks: `/<code>`, cronitor: `status_code`). */
  exitCode?: number;
  /** One line (Uptime Kuma's `msg`, cronitor's `message`). */
  summary?: string;
  /** The log tail (healthchecks' body); bounded by the caller (./tail.ts). */
  body?: string;
  durationMs?: number;
}

export interface PingRequest {
  method: "GET" | "POST";
  url: string;
  body?: string;
}

/** Cronitor and Uptime Kuma carry the message in the query: keep it short. */
const MAX_QUERY_MESSAGE_CHARS = 200;
const RETRY_DELAY_MS = 1_000;

/**
 * Given a style, the monitor's URL and a signal, return the request to send;
 * null when the style has no such signal (Uptime Kuma has no start).
 */
export function pingRequest(style: PingStyle, base: string, s: PingSignal): PingRequest | null {
  const url = new URL(base);
  const short = (s.summary ?? "").split("\n")[0]!.slice(0, MAX_QUERY_MESSAGE_CHARS);
  if (style === "healthchecks") {
    const path = url.pathname.replace(/\/+$/, "");
    const code = s.exitCode !== undefined && s.exitCode > 0 && s.exitCode <= 255 ? String(s.exitCode) : "fail";
    url.pathname = s.kind === "start" ? `${path}/start` : s.kind === "fail" ? `${path}/${code}` : path || "/";
    url.searchParams.set("rid", s.rid);
    return { method: "POST", url: url.href, body: s.body ?? "" };
  }
  if (style === "uptime-kuma") {
    if (s.kind === "start") return null;
    url.searchParams.set("status", s.kind === "success" ? "up" : "down");
    url.searchParams.set("msg", short || (s.kind === "success" ? "OK" : "failed"));
    url.searchParams.set("ping", s.durationMs !== undefined ? String(s.durationMs) : "");
    return { method: "GET", url: url.href };
  }
  url.searchParams.set("state", s.kind === "start" ? "run" : s.kind === "success" ? "complete" : "fail");
  url.searchParams.set("series", s.rid);
  if (short) url.searchParams.set("message", short);
  if (s.kind === "fail" && s.exitCode !== undefined) url.searchParams.set("status_code", String(s.exitCode));
  if (s.durationMs !== undefined && s.kind !== "start")
    url.searchParams.set("duration", (s.durationMs / 1000).toFixed(3));
  return { method: "GET", url: url.href };
}

/** Whose monitor a ping goes to, for logs: `job backup`, `database app`. */
export interface PingTarget {
  label: string;
  /** The [ping] key or `database[i].ping`, for the warning when its variable is unset. */
  url: PingUrl;
}

/** The job's monitor and each given database's monitor, where configured. */
export function pingTargetFor(
  config: ResolvedConfig,
  who: { job: "backup" | "verify" | "health" } | { database: string },
) {
  const url = "job" in who ? config.ping.jobs[who.job] : config.ping.databases[who.database];
  if (!url) return null;
  return { label: "job" in who ? `job ${who.job}` : `database ${who.database}`, url } satisfies PingTarget;
}

async function attempt(req: PingRequest, timeoutMs: number): Promise<void> {
  const res = await fetch(req.url, {
    method: req.method,
    body: req.body,
    headers: req.body !== undefined ? { "Content-Type": "text/plain; charset=utf-8" } : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

/** An error message with the URL (which embeds the monitor's token) taken out. */
function withoutUrl(err: unknown, req: PingRequest, timeoutMs: number): string {
  if ((err as Error).name === "TimeoutError") return `timed out after ${timeoutMs} ms`;
  return describeError(err).replaceAll(req.url, `${new URL(req.url).origin}/…`);
}

/**
 * Sends one ping to `target` (retried once), logging a failure. Returns the
 * warning to show, or null when sent (or nothing to send for this style).
 */
export async function sendPing(config: ResolvedConfig, target: PingTarget, s: PingSignal): Promise<string | null> {
  const fail = (error: string) => {
    appendOpLog(config.logFile, { op: "ping", ok: false, target: target.label, kind: s.kind, rid: s.rid, error });
    return `${target.label}: ${s.kind} ping failed: ${error}`;
  };
  if (target.url.url === null) return fail(`${target.url.env} is not set: not pinged`);
  const req = pingRequest(config.ping.style, target.url.url, s);
  if (!req) return null;
  try {
    await attempt(req, config.ping.timeoutMs);
  } catch {
    await Bun.sleep(RETRY_DELAY_MS);
    try {
      await attempt(req, config.ping.timeoutMs);
    } catch (err) {
      return fail(withoutUrl(err, req, config.ping.timeoutMs));
    }
  }
  return null;
}

/** The end of a run, as a ping says it. */
export interface PingOutcome {
  /** 0: success; null: failed without an exit code (killed). */
  exitCode: number | null;
  summary: string;
  body: string;
}

/**
 * One run as a monitor sees it: `start()` when it begins, `finish()` with its
 * outcome; both carry the same `rid`. Each returns the warnings to show.
 */
export class PingRun {
  private readonly startedAt = Date.now();
  private startSent = false;
  constructor(
    private readonly config: ResolvedConfig,
    readonly target: PingTarget,
    /** Given when the run started elsewhere (a timed-out run's report, ./failed-run.ts). */
    readonly rid: string = randomUUID(),
  ) {}

  async start(): Promise<string[]> {
    this.startSent = true;
    const w = await sendPing(this.config, this.target, { kind: "start", rid: this.rid });
    return w ? [w] : [];
  }

  async finish(o: PingOutcome): Promise<string[]> {
    // An unset variable was said at the start; once is enough.
    if (this.target.url.url === null && this.startSent) return [];
    const w = await sendPing(this.config, this.target, {
      kind: o.exitCode === 0 ? "success" : "fail",
      rid: this.rid,
      exitCode: o.exitCode ?? undefined,
      summary: o.summary,
      body: o.body,
      durationMs: Date.now() - this.startedAt,
    });
    return w ? [w] : [];
  }
}
