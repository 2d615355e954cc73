/**
 * `[notify]` as checked (notify-schema.ts) → the channels, each with its
 * events: the table's own keys first, named after their type, then each
 * `[[notify.channel]]`; `[notify] on` is every channel's default `on`.
 */
import { isAbsolute, resolve } from "node:path";
import { parseSpanMs } from "../model/index.ts";
import {
  type ChannelConfig,
  DEFAULT_EVENTS,
  DEFAULT_NOTIFY_TIMEOUT_MS,
  type EventType,
  expandEvents,
  type NotifyConfig,
  type SmtpAuth,
  type SmtpTls,
} from "./notify.ts";
import type { ChannelEntry, NotifyEntry } from "./notify-schema.ts";

function resolveChannel(c: ChannelEntry, on: EventType[], baseDir: string): ChannelConfig {
  const name = (c.name as string | undefined) ?? c.type;
  const own = c.on ? expandEvents(c.on as string[])! : on;
  const s = (k: string) => c[k] as string | undefined;
  if (c.type === "command")
    return { type: "command", name, on: own, command: s("command")!, commandEnv: (c.command_env as string[]) ?? [] };
  if (c.type === "email") {
    const tls = (s("smtp_tls") ?? "starttls") as SmtpTls;
    const ca = s("smtp_ca_file");
    return {
      type: "email",
      name,
      on: own,
      to: c.to as string[],
      from: s("from")!,
      sendmail: s("sendmail"),
      smtp: s("smtp_host")
        ? {
            host: s("smtp_host")!,
            // 587 is the submission port (STARTTLS), 465 submissions (TLS from the start).
            port: (c.smtp_port as number | undefined) ?? (tls === "tls" ? 465 : tls === "starttls" ? 587 : 25),
            tls,
            usernameEnv: s("smtp_username_env"),
            passwordEnv: s("smtp_password_env"),
            auth: s("smtp_auth") as SmtpAuth | undefined,
            caFile: ca ? (isAbsolute(ca) ? ca : resolve(baseDir, ca)) : undefined,
          }
        : undefined,
    };
  }
  if (c.type === "ntfy")
    return { type: "ntfy", name, on: own, url: s("url"), urlEnv: s("url_env"), tokenEnv: s("token_env") };
  return { type: c.type, name, on: own, url: s("url"), urlEnv: s("url_env") };
}

/**
 * Resolves `[notify]` into channels (the table's own keys first, then each
 * `[[notify.channel]]`), pushing a problem for two channels of one name.
 */
export function resolveNotify(
  entry: NotifyEntry | undefined,
  secretEnv: string[],
  baseDir: string,
  problems: string[],
): NotifyConfig {
  const on = entry?.on ? expandEvents(entry.on)! : [...DEFAULT_EVENTS];
  const channels: ChannelConfig[] = [];
  if (entry?.ntfy) channels.push({ type: "ntfy", name: "ntfy", on, url: entry.ntfy, tokenEnv: entry.ntfy_token_env });
  if (entry?.webhook) channels.push({ type: "webhook", name: "webhook", on, url: entry.webhook });
  if (entry?.command)
    channels.push({
      type: "command",
      name: "command",
      on,
      command: entry.command,
      commandEnv: entry.command_env ?? [],
    });
  const legacy = channels.length;
  (entry?.channel ?? []).forEach((c, i) => {
    const ch = resolveChannel(c, on, baseDir);
    const clash = channels.findIndex((x) => x.name === ch.name);
    if (clash >= 0) {
      const other = clash < legacy ? `notify.${channels[clash]!.type}` : `notify.channel[${clash - legacy}]`;
      problems.push(
        `notify.channel[${i}].name: "${ch.name}" is already used by ${other}; give each channel its own name`,
      );
    }
    channels.push(ch);
  });
  return {
    channels,
    secretEnv,
    timeoutMs: entry?.timeout ? parseSpanMs(entry.timeout)! : DEFAULT_NOTIFY_TIMEOUT_MS,
  };
}
