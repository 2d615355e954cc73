/**
 * Hooks around a backup (docs/hooks.md): the `[hooks]` table (every
 * database) and `[database.hooks]` (one database, replacing the global command
 * of the same event). Each is a shell command; `timeout` bounds each run and
 * `env` names the extra variables a hook may see (never a secret).
 */
import { parseSpanMs, spanProblem } from "../model/index.ts";

export const HOOK_EVENTS = ["before_backup", "after_backup", "on_error"] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/**
 * Five minutes: enough to stop a service, flush a queue or take a lock
 * elsewhere; short enough that a hung hook never holds a scheduled run for hours.
 */
export const DEFAULT_HOOK_TIMEOUT = "5m";

export interface HooksEntry {
  before_backup?: string;
  after_backup?: string;
  on_error?: string;
  /** Global only: how long one hook may run. */
  timeout?: string;
  /** Global only: extra variables (beyond PATH, HOME, LANG, ...) the hooks get. */
  env?: string[];
}

/** Per database: the command of each event (the database's own, else the global one). */
export type DatabaseHooks = Partial<Record<HookEvent, string>>;

export interface HooksConfig {
  timeoutMs: number;
  env: string[];
  /** The global commands; a database's own replace them event by event. */
  global: DatabaseHooks;
}

const GLOBAL_KEYS = [...HOOK_EVENTS, "timeout", "env"];
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

type AddProblem = (key: string, what: string) => void;
type Raw = Record<string, unknown>;

/**
 * Checks `[hooks]` (where = "hooks") or `[database.hooks]` (where =
 * "database[i].hooks", no `timeout` or `env`); every problem goes to `add`.
 */
export function checkHooksTable(raw: unknown, where: string, add: AddProblem): HooksEntry | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    add(where, `expected a table [${where.replace(/\[\d+\]/, "")}]`);
    return undefined;
  }
  const obj = raw as Raw;
  const allowed = where === "hooks" ? GLOBAL_KEYS : [...HOOK_EVENTS];
  for (const k of Object.keys(obj))
    if (!allowed.includes(k)) add(`${where}.${k}`, `unknown key (allowed here: ${allowed.join(", ")})`);
  const entry: HooksEntry = {};
  for (const event of HOOK_EVENTS) {
    const v = obj[event];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.trim() === "")
      add(`${where}.${event}`, "expected a shell command (a non-empty string)");
    else entry[event] = v;
  }
  if (where === "hooks" && obj.timeout !== undefined) {
    const problem = typeof obj.timeout === "string" ? spanProblem(obj.timeout) : "expected a duration such as 5m";
    if (problem) add("hooks.timeout", problem);
    else if (parseSpanMs(obj.timeout as string) === 0) add("hooks.timeout", "must be longer than 0");
    else entry.timeout = obj.timeout as string;
  }
  if (where === "hooks" && obj.env !== undefined) {
    if (!Array.isArray(obj.env) || obj.env.some((n) => typeof n !== "string" || !ENV_NAME_RE.test(n)))
      add("hooks.env", 'expected a list of environment variable names, e.g. ["APP_SERVICE"]');
    else entry.env = obj.env as string[];
  }
  return entry;
}

/** `hooks.env` with its key, for the rule that no hook is handed a secret. */
export function hooksEnvList(entry: HooksEntry | undefined): { key: string; names: string[] }[] {
  return entry?.env ? [{ key: "hooks.env", names: entry.env }] : [];
}

/** The resolved `[hooks]`: its timeout (default DEFAULT_HOOK_TIMEOUT), extra variables and global commands. */
export function resolveHooks(entry: HooksEntry | undefined): HooksConfig {
  const global: DatabaseHooks = {};
  for (const event of HOOK_EVENTS) if (entry?.[event]) global[event] = entry[event];
  return {
    timeoutMs: parseSpanMs(entry?.timeout ?? DEFAULT_HOOK_TIMEOUT)!,
    env: entry?.env ?? [],
    global,
  };
}

/**
 * A database's commands: its own `[database.hooks]` over the global `[hooks]`,
 * event by event, as `{ hooks }` to spread into the database; `{}` when it has none.
 */
export function databaseHooks(global: DatabaseHooks, own: HooksEntry | undefined): { hooks?: DatabaseHooks } {
  const out: DatabaseHooks = { ...global };
  for (const event of HOOK_EVENTS) if (own?.[event]) out[event] = own[event];
  return Object.keys(out).length ? { hooks: out } : {};
}
