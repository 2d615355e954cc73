/**
 * Dead-man's-switch pings (docs/pings.md): the `[ping]` table (one URL per
 * scheduled job) and `ping` / `ping_env` in a `[[database]]` entry (one URL
 * per database). A URL embeds the monitor's token, so each can instead be the
 * NAME of an environment variable holding it (`*_env`), like the other secrets.
 * Checked key by key like the rest of the config; resolving reads the variables.
 */
import { parseSpanMs, spanProblem } from "../model/index.ts";

export const PING_STYLES = ["healthchecks", "uptime-kuma", "cronitor"] as const;
export type PingStyle = (typeof PING_STYLES)[number];
/** The jobs with a URL of their own: `backup` (key `url`), `verify`, `health` (`stats --check`). */
export const PING_JOBS = ["backup", "verify", "health"] as const;
export type PingJob = (typeof PING_JOBS)[number];

/** Short: a start ping is sent before the work, so a monitor that is down must not hold it up for long. */
export const DEFAULT_PING_TIMEOUT_MS = 5_000;

export interface PingEntry {
  url?: string;
  url_env?: string;
  verify?: string;
  verify_env?: string;
  health?: string;
  health_env?: string;
  style?: PingStyle;
  timeout?: string;
}

/** Where one ping goes: the URL, or the variable that should have held it and did not. */
export interface PingUrl {
  url: string | null;
  /** Set when the URL comes from a variable: its name (for the warning when it is unset). */
  env?: string;
}

export interface PingConfig {
  style: PingStyle;
  timeoutMs: number;
  jobs: Partial<Record<PingJob, PingUrl>>;
  /** Database name → its own URL. */
  databases: Record<string, PingUrl>;
}

const KEYS = ["url", "url_env", "verify", "verify_env", "health", "health_env", "style", "timeout"];
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The key of `[ping]` that holds each job's URL. */
const JOB_KEY: Record<PingJob, "url" | "verify" | "health"> = { backup: "url", verify: "verify", health: "health" };

type AddProblem = (key: string, what: string) => void;
type Raw = Record<string, unknown>;

function url(obj: Raw, key: string, where: string, add: AddProblem): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^https?:\/\/[^\s]+$/.test(v)) {
    add(`${where}${key}`, "expected an http(s) URL");
    return undefined;
  }
  return v;
}

function envName(obj: Raw, key: string, where: string, add: AddProblem): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !ENV_NAME_RE.test(v)) {
    add(`${where}${key}`, 'expected the NAME of an environment variable holding the URL (e.g. "HC_PING_URL")');
    return undefined;
  }
  return v;
}

function pair(obj: Raw, key: string, where: string, add: AddProblem): [string | undefined, string | undefined] {
  const u = url(obj, key, where, add);
  const e = envName(obj, `${key}_env`, where, add);
  if (obj[key] !== undefined && obj[`${key}_env`] !== undefined)
    add(`${where}${key}`, `set ${key} or ${key}_env, not both`);
  return [u, e];
}

/** Checks `[ping]`; every problem goes to `add` with its key path. */
export function checkPingTable(raw: unknown, add: AddProblem): PingEntry | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    add("ping", "expected a table [ping]");
    return undefined;
  }
  const obj = raw as Raw;
  for (const k of Object.keys(obj))
    if (!KEYS.includes(k)) add(`ping.${k}`, `unknown key (allowed here: ${KEYS.join(", ")})`);
  const entry: PingEntry = {};
  [entry.url, entry.url_env] = pair(obj, "url", "ping.", add);
  [entry.verify, entry.verify_env] = pair(obj, "verify", "ping.", add);
  [entry.health, entry.health_env] = pair(obj, "health", "ping.", add);
  if (obj.style !== undefined) {
    if (PING_STYLES.includes(obj.style as PingStyle)) entry.style = obj.style as PingStyle;
    else add("ping.style", `${JSON.stringify(obj.style)} is not one of ${PING_STYLES.join(" | ")}`);
  }
  if (obj.timeout !== undefined) {
    const problem = typeof obj.timeout === "string" ? spanProblem(obj.timeout) : "expected a duration such as 5s";
    if (problem) add("ping.timeout", problem);
    else entry.timeout = obj.timeout as string;
  }
  return entry;
}

/** `ping` / `ping_env` of a `[[database]]` entry (`prefix` is `database[i].`). */
export function checkDatabasePing(obj: Raw, prefix: string, add: AddProblem): { ping?: string; ping_env?: string } {
  const [ping, ping_env] = pair(obj, "ping", prefix, add);
  return { ping, ping_env };
}

/** The variables the config reads ping URLs from: secrets (a URL embeds its monitor's token). */
export function pingSecretEnvNames(
  ping: PingEntry | undefined,
  databases: { ping_env?: string }[] | undefined,
): { name: string; key: string }[] {
  const out: { name: string; key: string }[] = [];
  for (const k of ["url_env", "verify_env", "health_env"] as const) {
    const v = ping?.[k];
    if (v) out.push({ name: v, key: `ping.${k}` });
  }
  (databases ?? []).forEach((d, i) => {
    if (d.ping_env) out.push({ name: d.ping_env, key: `database[${i}].ping_env` });
  });
  return out;
}

function resolveUrl(inline: string | undefined, env: string | undefined, vars: NodeJS.ProcessEnv): PingUrl | undefined {
  if (inline) return { url: inline };
  // An unset variable is not a config error: a ping must never stop a backup. The run warns instead.
  if (env) return { url: vars[env] || null, env };
  return undefined;
}

/** Given the checked `[ping]`, each database's name and entry, and the environment, return where pings go. */
export function resolvePing(
  entry: PingEntry | undefined,
  databases: { name: string; ping?: string; ping_env?: string }[],
  vars: NodeJS.ProcessEnv,
): PingConfig {
  const jobs: PingConfig["jobs"] = {};
  for (const job of ["backup", "verify", "health"] as const) {
    const key = JOB_KEY[job];
    const u = resolveUrl(entry?.[key], entry?.[`${key}_env`], vars);
    if (u) jobs[job] = u;
  }
  const dbs: Record<string, PingUrl> = {};
  for (const d of databases) {
    const u = resolveUrl(d.ping, d.ping_env, vars);
    if (u) dbs[d.name] = u;
  }
  return {
    style: entry?.style ?? "healthchecks",
    timeoutMs: entry?.timeout ? parseSpanMs(entry.timeout)! : DEFAULT_PING_TIMEOUT_MS,
    jobs,
    databases: dbs,
  };
}
