/**
 * `[notify]` and its `[[notify.channel]]` entries: validation, every problem
 * collected as a TOML key path (resolution into channels: notify-resolve.ts).
 * Secrets are never read from the file: a key naming one is refused with advice.
 */
import { spanProblem } from "../model/index.ts";
import {
  CHANNEL_TYPES,
  type ChannelType,
  EVENT_ALIASES,
  EVENT_TYPES,
  expandEvents,
  type SmtpAuth,
  type SmtpTls,
} from "./notify.ts";

type Raw = Record<string, unknown>;
type Add = (key: string, what: string) => void;

/** A validated `[[notify.channel]]` as written: keys as in the file, values checked. */
export type ChannelEntry = Record<string, string | number | string[] | undefined> & { type: ChannelType };

export interface NotifyEntry {
  on?: string[];
  ntfy?: string;
  ntfy_token_env?: string;
  webhook?: string;
  command?: string;
  /** Extra environment variables the command may see (never one the config names as a secret). */
  command_env?: string[];
  timeout?: string;
  channel?: ChannelEntry[];
}

const NOTIFY_KEYS = ["on", "ntfy", "ntfy_token_env", "webhook", "command", "command_env", "timeout", "channel"];
const COMMON_KEYS = ["name", "type", "on"];
const TYPE_KEYS: Record<ChannelType, string[]> = {
  ntfy: ["url", "url_env", "token_env"],
  webhook: ["url", "url_env"],
  slack: ["url", "url_env"],
  discord: ["url", "url_env"],
  command: ["command", "command_env"],
  email: [
    "to",
    "from",
    "sendmail",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_username_env",
    "smtp_password_env",
    "smtp_auth",
    "smtp_ca_file",
  ],
};
/** Keys people write for a secret; each is refused with the key to use instead. */
const SECRET_KEYS: Record<string, string> = {
  token: "token_env",
  password: "smtp_password_env",
  smtp_password: "smtp_password_env",
  smtp_username: "smtp_username_env",
};
const ENV_KEYS = new Set(["url_env", "token_env", "smtp_username_env", "smtp_password_env"]);
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A channel name appears in `notify --test NAME`, the op log and health problems. */
export const CHANNEL_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const EMAIL_RE = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;
const SMTP_TLS: SmtpTls[] = ["starttls", "tls", "none"];
const SMTP_AUTH: SmtpAuth[] = ["plain", "login"];

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "object") return "a table";
  return `a ${typeof v}`;
}

function str(obj: Raw, key: string, prefix: string, add: Add): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") {
    add(prefix + key, v === "" ? "must not be empty" : `expected a non-empty string, got ${typeName(v)}`);
    return undefined;
  }
  if (ENV_KEYS.has(key) && !ENV_NAME_RE.test(v)) {
    add(prefix + key, `"${v}" is not an environment variable name (it names the variable, not the secret itself)`);
    return undefined;
  }
  return v;
}

function url(obj: Raw, key: string, prefix: string, add: Add): string | undefined {
  const v = str(obj, key, prefix, add);
  if (v !== undefined && !/^https?:\/\//.test(v)) {
    add(prefix + key, `"${v}" is not an http(s) URL`);
    return undefined;
  }
  return v;
}

const EVENT_LIST = [...Object.keys(EVENT_ALIASES), ...EVENT_TYPES].join(" | ");

function events(obj: Raw, key: string, add: Add): string[] | undefined {
  const v = obj.on;
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((e) => typeof e !== "string") || expandEvents(v as string[]) === null) {
    add(key, `expected a list of ${EVENT_LIST}, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v as string[];
}

/** `command_env`: names of variables, never one that holds a secret (checked with the whole config, schema.ts). */
function envList(obj: Raw, key: string, prefix: string, add: Add): string[] | undefined {
  const raw = obj[key];
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) {
    add(prefix + key, `expected a list of environment variable names, got ${typeName(raw)}`);
    return undefined;
  }
  const names: string[] = [];
  for (const v of raw) {
    if (typeof v === "string" && ENV_NAME_RE.test(v)) names.push(v);
    else add(prefix + key, `${JSON.stringify(v)} is not an environment variable name`);
  }
  return names;
}

function checkEmail(obj: Raw, prefix: string, add: Add, out: ChannelEntry): void {
  const to = obj.to;
  if (to === undefined) add(`${prefix}to`, 'is required for type "email" (a list of addresses)');
  else if (!Array.isArray(to) || to.length === 0 || to.some((a) => typeof a !== "string" || !EMAIL_RE.test(a)))
    add(`${prefix}to`, `expected a list of email addresses, got ${JSON.stringify(to)}`);
  else out.to = to as string[];
  out.from = str(obj, "from", prefix, add);
  if (obj.from === undefined) add(`${prefix}from`, 'is required for type "email"');
  else if (out.from && !EMAIL_RE.test(out.from)) add(`${prefix}from`, `"${out.from}" is not an email address`);
  out.sendmail = str(obj, "sendmail", prefix, add);
  out.smtp_host = str(obj, "smtp_host", prefix, add);
  if ((obj.sendmail === undefined) === (obj.smtp_host === undefined))
    add(prefix.slice(0, -1), "an email channel needs exactly one of smtp_host and sendmail");
  const smtpOnly = Object.keys(obj).filter((k) => k.startsWith("smtp_") && k !== "smtp_host");
  if (obj.smtp_host === undefined && smtpOnly.length) add(`${prefix}${smtpOnly[0]}`, "applies only with smtp_host");
  const port = obj.smtp_port;
  if (port !== undefined && (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535))
    add(`${prefix}smtp_port`, `expected a port from 1 to 65535, got ${JSON.stringify(port)}`);
  else out.smtp_port = port as number | undefined;
  for (const [key, options] of [
    ["smtp_tls", SMTP_TLS],
    ["smtp_auth", SMTP_AUTH],
  ] as const) {
    const v = str(obj, key, prefix, add);
    if (v !== undefined && !(options as readonly string[]).includes(v))
      add(prefix + key, `"${v}" is not one of ${options.join(" | ")}`);
    else out[key] = v;
  }
  out.smtp_username_env = str(obj, "smtp_username_env", prefix, add);
  out.smtp_password_env = str(obj, "smtp_password_env", prefix, add);
  if ((obj.smtp_username_env === undefined) !== (obj.smtp_password_env === undefined))
    add(`${prefix}smtp_password_env`, "smtp_username_env and smtp_password_env go together (AUTH needs both)");
  out.smtp_ca_file = str(obj, "smtp_ca_file", prefix, add);
}

function checkChannel(raw: unknown, i: number, add: Add): ChannelEntry | undefined {
  const key = `notify.channel[${i}]`;
  const prefix = `${key}.`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    add(key, `expected a table, got ${typeName(raw)}`);
    return undefined;
  }
  const obj = raw as Raw;
  const type = str(obj, "type", prefix, add) as ChannelType | undefined;
  if (obj.type === undefined) add(`${prefix}type`, `is required (${CHANNEL_TYPES.join(" | ")})`);
  if (type === undefined) return undefined;
  if (!CHANNEL_TYPES.includes(type)) {
    add(`${prefix}type`, `"${type}" is not one of ${CHANNEL_TYPES.join(" | ")}`);
    return undefined;
  }
  const allowed = [...COMMON_KEYS, ...TYPE_KEYS[type]];
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const instead = SECRET_KEYS[k];
    if (instead && allowed.includes(instead))
      add(
        prefix + k,
        `secrets never go in the config file: put it in an environment variable and name that in ${instead}`,
      );
    else add(prefix + k, `unknown key for type "${type}" (allowed: ${allowed.join(", ")})`);
  }
  const name = str(obj, "name", prefix, add);
  const out: ChannelEntry = { type, name, on: events(obj, `${prefix}on`, add) };
  if (name !== undefined && !CHANNEL_NAME_RE.test(name))
    add(`${prefix}name`, `"${name}" is not a safe name (use a-z, 0-9, _ and -, starting with a letter or digit)`);
  if (type === "email") checkEmail(obj, prefix, add, out);
  else if (type === "command") {
    out.command = str(obj, "command", prefix, add);
    if (obj.command === undefined) add(`${prefix}command`, 'is required for type "command"');
    out.command_env = envList(obj, "command_env", prefix, add);
  } else {
    out.url = url(obj, "url", prefix, add);
    out.url_env = str(obj, "url_env", prefix, add);
    if ((obj.url === undefined) === (obj.url_env === undefined))
      add(key, `a ${type} channel needs exactly one of url and url_env (the variable holding a URL with a token)`);
    if (type === "ntfy") out.token_env = str(obj, "token_env", prefix, add);
  }
  return out;
}

/** Given the raw `[notify]` value, returns it checked (undefined when absent or not a table). */
export function checkNotifyTable(raw: unknown, add: Add): NotifyEntry | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    add("notify", "expected a table [notify]");
    return undefined;
  }
  const obj = raw as Raw;
  for (const k of Object.keys(obj))
    if (!NOTIFY_KEYS.includes(k)) add(`notify.${k}`, `unknown key (allowed here: ${NOTIFY_KEYS.join(", ")})`);
  const timeout = str(obj, "timeout", "notify.", add);
  const problem = timeout === undefined ? null : spanProblem(timeout);
  if (problem) add("notify.timeout", problem);
  let channel: ChannelEntry[] | undefined;
  if (obj.channel !== undefined) {
    if (!Array.isArray(obj.channel))
      add("notify.channel", `expected [[notify.channel]] entries, got ${typeName(obj.channel)}`);
    else channel = obj.channel.map((c, i) => checkChannel(c, i, add)).filter((c): c is ChannelEntry => c !== undefined);
  }
  return {
    on: events(obj, "notify.on", add),
    ntfy: url(obj, "ntfy", "notify.", add),
    ntfy_token_env: str(obj, "ntfy_token_env", "notify.", add),
    webhook: url(obj, "webhook", "notify.", add),
    command: str(obj, "command", "notify.", add),
    command_env: envList(obj, "command_env", "notify.", add),
    timeout: problem ? undefined : timeout,
    channel,
  };
}

/** The variables `[notify]` reads secrets from, each with the key naming it. */
export function notifySecretEnv(entry: NotifyEntry | undefined): { name: string; key: string }[] {
  const out: { name: string; key: string }[] = [];
  if (entry?.ntfy_token_env) out.push({ name: entry.ntfy_token_env, key: "notify.ntfy_token_env" });
  (entry?.channel ?? []).forEach((c, i) => {
    for (const k of ENV_KEYS) {
      const v = c[k];
      if (typeof v === "string") out.push({ name: v, key: `notify.channel[${i}].${k}` });
    }
  });
  return out;
}

/** Every `command_env` list with its key: the legacy one and each command channel's. */
export function commandEnvLists(entry: NotifyEntry | undefined): { key: string; names: string[] }[] {
  const out = [{ key: "notify.command_env", names: entry?.command_env ?? [] }];
  (entry?.channel ?? []).forEach((c, i) => {
    if (Array.isArray(c.command_env)) out.push({ key: `notify.channel[${i}].command_env`, names: c.command_env });
  });
  return out;
}
