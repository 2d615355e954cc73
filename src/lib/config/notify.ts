/**
 * What `[notify]` resolves to: the event names (docs/events.md), the aliases
 * older configs use, and the channels, each with the events it gets. Secrets
 * (URLs with tokens, passwords) stay names of environment variables here and
 * are read only when something is sent.
 */
export const EVENT_TYPES = [
  "backup.start",
  "backup.success",
  "backup.failure",
  "copy.failure",
  "rotate",
  "verify.success",
  "verify.failure",
  "restore",
  "health.problem",
  "health.recovered",
  "report",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** `notify --test` sends this to a channel whatever its `on` says. */
export type NotifyEvent = EventType | "test";

/** The names `on` took before there was one event per operation; each stands for these events. */
export const EVENT_ALIASES: Record<string, readonly EventType[]> = {
  success: ["backup.success"],
  failure: ["backup.failure", "copy.failure", "verify.failure"],
  health: ["health.problem", "health.recovered"],
  // Every event but the status report, which goes only where it is asked for by name (docs/report.md).
  all: EVENT_TYPES.filter((e) => e !== "report"),
};

/** Failures and problems (and the all-clear after a problem): what an admin must hear without asking. */
export const DEFAULT_EVENTS: readonly EventType[] = [
  "backup.failure",
  "copy.failure",
  "verify.failure",
  "health.problem",
  "health.recovered",
];

/** `on` as written (events and aliases) → the events, in EVENT_TYPES order; null when a name is unknown. */
export function expandEvents(names: readonly string[]): EventType[] | null {
  const out = new Set<EventType>();
  for (const n of names) {
    const events = EVENT_ALIASES[n] ?? (EVENT_TYPES.includes(n as EventType) ? [n as EventType] : null);
    if (!events) return null;
    for (const e of events) out.add(e);
  }
  return EVENT_TYPES.filter((e) => out.has(e));
}

/** A slow endpoint must not hold up the next database's backup for long. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;

export const CHANNEL_TYPES = ["ntfy", "webhook", "slack", "discord", "email", "command"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** A URL given inline or by the name of the environment variable holding it (`url_env`). */
export interface UrlSource {
  url?: string;
  urlEnv?: string;
}

interface ChannelBase {
  /** Unique among the channels: `notify --test NAME`, the op log and `stats --check` use it. */
  name: string;
  on: EventType[];
}

export interface NtfyChannel extends ChannelBase, UrlSource {
  type: "ntfy";
  /** Variable holding an access token, sent as `Authorization: Bearer`. */
  tokenEnv?: string;
}

export interface HookChannel extends ChannelBase, UrlSource {
  type: "webhook" | "slack" | "discord";
}

export interface CommandChannel extends ChannelBase {
  type: "command";
  command: string;
  /** Variables the admin lets the command see (`command_env`), beyond COMMAND_BASE_ENV. */
  commandEnv: string[];
}

export type SmtpTls = "starttls" | "tls" | "none";
export type SmtpAuth = "plain" | "login";

export interface SmtpSettings {
  host: string;
  port: number;
  tls: SmtpTls;
  usernameEnv?: string;
  passwordEnv?: string;
  /** Mechanism to use; absent: PLAIN when the server offers it, else LOGIN. */
  auth?: SmtpAuth;
  /** Extra CA certificates (PEM) to trust, absolute. */
  caFile?: string;
}

export interface EmailChannel extends ChannelBase {
  type: "email";
  to: string[];
  from: string;
  /** Exactly one of smtp and sendmail. */
  smtp?: SmtpSettings;
  /** A local sendmail-compatible command, run as `<sendmail> -t -i` with the message on stdin. */
  sendmail?: string;
}

export type ChannelConfig = NtfyChannel | HookChannel | CommandChannel | EmailChannel;

export interface NotifyConfig {
  channels: ChannelConfig[];
  /** Variables the config reads secrets from: never passed to a command, never printed. */
  secretEnv: string[];
  timeoutMs: number;
}
