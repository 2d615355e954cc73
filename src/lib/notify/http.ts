/**
 * The HTTP channels: ntfy (the message as body, headers for the rest), the
 * generic JSON webhook (the event itself), and the Slack- and Discord-shaped
 * incoming webhooks. URLs may embed a token, so they are never put in an error.
 */
import type { HookChannel, NtfyChannel } from "../config/index.ts";
import type { Notification } from "./event.ts";
import { readSecret, type SendContext } from "./secret.ts";

async function post(url: string, body: string, headers: Record<string, string>, ctx: SendContext): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", body, headers, signal: AbortSignal.timeout(ctx.timeoutMs) });
  } catch (err) {
    if ((err as Error).name === "TimeoutError") throw new Error(`timed out after ${ctx.timeoutMs} ms`);
    // Bun's messages can name the URL; say what failed without it.
    const code = (err as { code?: string }).code;
    throw new Error(`could not reach ${new URL(url).host}${code ? ` (${code})` : ""}`);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

function urlOf(ch: NtfyChannel | HookChannel, ctx: SendContext): string {
  const url = ch.urlEnv ? readSecret(ch.urlEnv, ctx, "url_env") : ch.url!;
  if (!/^https?:\/\//.test(url)) throw new Error(`$${ch.urlEnv} does not hold an http(s) URL`);
  return url;
}

const TAGS: Partial<Record<Notification["event"], string>> = {
  "backup.start": "hourglass_flowing_sand",
  "backup.success": "white_check_mark",
  "verify.success": "white_check_mark",
  "health.recovered": "white_check_mark",
  report: "bar_chart",
  "backup.failure": "rotating_light",
  "verify.failure": "rotating_light",
  "copy.failure": "rotating_light",
  rotate: "wastebasket",
  restore: "leftwards_arrow_with_hook",
  test: "test_tube",
};

export function sendNtfy(ch: NtfyChannel, n: Notification, ctx: SendContext): Promise<void> {
  const headers: Record<string, string> = {
    Title: n.title,
    Priority: n.ok ? "default" : "high",
    Tags: TAGS[n.event] ?? "warning",
    // ntfy ignores it; a proxy or a test in front of it can route on it.
    "X-Sqlbak-Event": n.event,
  };
  const token = ch.tokenEnv ? ctx.env[ch.tokenEnv] : undefined;
  if (token) headers.Authorization = `Bearer ${token}`;
  return post(urlOf(ch, ctx), n.message, headers, ctx);
}

/** The facts worth a line in a chat message, as label → text. */
export function chatFields(n: Notification): [string, string][] {
  const out: [string, string][] = [];
  const add = (label: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== "") out.push([label, String(v)]);
  };
  add("Database", n.database);
  add("Destination", n.destination);
  add("Backup", n.id);
  add("Error", n.error);
  add("Last good backup", n.last_good_id ? `${n.last_good_id} (${n.last_good_at})` : undefined);
  add("Investigate", n.investigate ? `\`${n.investigate}\`` : undefined);
  add("Host", n.host);
  return out;
}

/** Slack's incoming-webhook JSON (also what Mattermost and Rocket.Chat accept): text plus one coloured attachment. */
export function slackBody(n: Notification): object {
  return {
    text: `*${n.title}*`,
    attachments: [
      {
        color: n.ok ? "good" : "danger",
        text: n.message,
        fields: chatFields(n)
          .filter(([l]) => l !== "Host")
          .map(([title, value]) => ({ title, value, short: value.length < 40 })),
        footer: `sqlbak ${n.version} on ${n.host} · ${n.event}`,
        ts: Math.floor(Date.parse(n.time) / 1000),
      },
    ],
  };
}

const DISCORD_GREEN = 0x2eb67d;
const DISCORD_RED = 0xe01e5a;

/** Discord's webhook JSON: one embed; mentions in the text never ping anyone. */
export function discordBody(n: Notification): object {
  return {
    username: "sqlbak",
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: n.title.slice(0, 256),
        description: n.message.slice(0, 4096),
        color: n.ok ? DISCORD_GREEN : DISCORD_RED,
        fields: chatFields(n)
          .filter(([l]) => l !== "Host")
          .map(([name, value]) => ({ name, value: value.slice(0, 1024), inline: value.length < 40 })),
        footer: { text: `sqlbak ${n.version} on ${n.host} · ${n.event}` },
        timestamp: n.time,
      },
    ],
  };
}

export function sendHook(ch: HookChannel, n: Notification, ctx: SendContext): Promise<void> {
  const body = ch.type === "slack" ? slackBody(n) : ch.type === "discord" ? discordBody(n) : n;
  return post(urlOf(ch, ctx), JSON.stringify(body), { "Content-Type": "application/json" }, ctx);
}
