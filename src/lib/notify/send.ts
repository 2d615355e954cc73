/**
 * Delivery: each event goes to every channel whose `on` lists it, all channels
 * at once, each with a timeout per attempt and one retry a second later. Every
 * delivery is logged (`op: "notify"`, with the channel), so `stats --check`
 * can tell a channel whose last delivery failed. A failed delivery is reported
 * back as a warning; it never changes the outcome or exit code of what it reports.
 */
import type { ChannelConfig, EventType, NotifyConfig, ResolvedConfig } from "../config/index.ts";
import { describeError } from "../model/index.ts";
import { appendOpLog } from "../store/index.ts";
import { sendCommand } from "./command.ts";
import { sendEmail } from "./email.ts";
import { type Notification, sqlbakCommand, testNotification } from "./event.ts";
import { sendHook, sendNtfy } from "./http.ts";
import { lastGoodBackup } from "./last-good.ts";
import type { SendContext } from "./secret.ts";

const RETRY_DELAY_MS = 1_000;

export interface Delivery {
  channel: string;
  type: ChannelConfig["type"];
  event: Notification["event"];
  ok: boolean;
  error?: string;
}

function sendOnce(ch: ChannelConfig, n: Notification, ctx: SendContext): Promise<void> {
  switch (ch.type) {
    case "ntfy":
      return sendNtfy(ch, n, ctx);
    case "webhook":
    case "slack":
    case "discord":
      return sendHook(ch, n, ctx);
    case "command":
      return sendCommand(ch, n, ctx);
    case "email":
      return sendEmail(ch, n, ctx);
  }
}

/** Every value this channel must never show: its inline URL and the secrets it reads, each at least 4 characters. */
function secretsOf(ch: ChannelConfig, ctx: SendContext): string[] {
  const names = ctx.secretEnv;
  const values = names.map((k) => ctx.env[k]).filter((v): v is string => Boolean(v));
  if ("url" in ch && ch.url) values.push(ch.url);
  return values.filter((v) => v.length >= 4);
}

function scrub(text: string, secrets: string[]): string {
  return secrets.reduce((t, s) => t.split(s).join("…"), text);
}

/** The name a warning uses: the channel's name, with its type when they differ. */
export function channelLabel(ch: ChannelConfig): string {
  return ch.name === ch.type ? ch.name : `${ch.name} (${ch.type})`;
}

/** Sends `n` through `ch`, once more after a second if the first attempt fails. */
export async function deliver(ch: ChannelConfig, n: Notification, ctx: SendContext): Promise<Delivery> {
  const base = { channel: ch.name, type: ch.type, event: n.event };
  try {
    try {
      await sendOnce(ch, n, ctx);
    } catch {
      await Bun.sleep(RETRY_DELAY_MS);
      await sendOnce(ch, n, ctx);
    }
    return { ...base, ok: true };
  } catch (err) {
    const why = (err as Error).name === "TimeoutError" ? `timed out after ${ctx.timeoutMs} ms` : describeError(err);
    return { ...base, ok: false, error: scrub(why, secretsOf(ch, ctx)) };
  }
}

export function sendContext(cfg: NotifyConfig, env: NodeJS.ProcessEnv = process.env): SendContext {
  return { env, timeoutMs: cfg.timeoutMs, secretEnv: cfg.secretEnv };
}

/** Sends `n` to every channel whose `on` lists its event; one Delivery per channel tried. */
export function notify(cfg: NotifyConfig, n: Notification, env: NodeJS.ProcessEnv = process.env): Promise<Delivery[]> {
  const ctx = sendContext(cfg, env);
  return Promise.all(cfg.channels.filter((ch) => takes(ch, n)).map((ch) => deliver(ch, n, ctx)));
}

function logDelivery(config: ResolvedConfig, n: Notification, d: Delivery): string | null {
  return appendOpLog(config.logFile, {
    op: "notify",
    channel: d.channel,
    type: d.type,
    event: n.event,
    database: n.database,
    ok: d.ok,
    error: d.error,
  });
}

const warningOf = (ch: ChannelConfig, d: Delivery) => `${channelLabel(ch)} notification failed: ${d.error}`;

/** Whether `ch` takes `n` by its `on` (a test event only ever goes through sendTestNotifications). */
const takes = (ch: ChannelConfig, n: Notification) => n.event !== "test" && ch.on.includes(n.event);

/** The names of the channels whose `on` lists `event`. */
export function channelsFor(cfg: NotifyConfig, event: EventType): string[] {
  return cfg.channels.filter((ch) => ch.on.includes(event)).map((ch) => ch.name);
}
const wanted = (config: ResolvedConfig, n: Notification) => config.notify.channels.some((c) => takes(c, n));

/** The command to look closer that each event names unless its builder chose one. */
function investigateArgs(n: Notification): string[] | null {
  if (n.event === "health.problem") return ["stats", "--check"];
  if (n.event === "rotate" && !n.ok) return ["rotate", n.database!, "--dry-run"];
  if (n.event === "verify.failure" && n.id)
    return ["verify", n.id, ...(n.destination ? ["--from", n.destination] : []), "--level", "full"];
  if (n.ok || !n.database) return null;
  return ["stats", n.database];
}

/** A failure gets the command to investigate and the database's last good backup (read only when a channel wants it). */
async function enrich(config: ResolvedConfig, n: Notification): Promise<Notification> {
  const args = n.investigate ? null : investigateArgs(n);
  const out = args ? { ...n, investigate: sqlbakCommand(config.file, args) } : n;
  if (n.ok || !n.database || n.last_good_id) return out;
  return { ...out, ...(await lastGoodBackup(config, n.database, n.event === "verify.failure" ? n.id : undefined)) };
}

/** Sends each notification; returns one warning per failed delivery, every delivery logged. */
export async function sendNotifications(config: ResolvedConfig, notes: Notification[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const note of notes) {
    if (!wanted(config, note)) continue;
    const n = await enrich(config, note);
    for (const d of await notify(config.notify, n)) {
      const logError = logDelivery(config, n, d);
      if (!d.ok) warnings.push(warningOf(config.notify.channels.find((c) => c.name === d.channel)!, d));
      if (logError) warnings.push(logError);
    }
  }
  return warnings;
}

/**
 * Sends notes in the background (backup.start must not hold up the backup):
 * call the returned function to wait for them and get their warnings.
 */
export function sendInBackground(config: ResolvedConfig, notes: Notification[]): () => Promise<string[]> {
  const some = notes.filter((n) => wanted(config, n));
  const pending = some.length ? sendNotifications(config, some) : Promise.resolve([]);
  return () => pending;
}

/** `notify --test`: a test event to every channel (or the one named), each delivery logged. */
export async function sendTestNotifications(config: ResolvedConfig, channels: ChannelConfig[]): Promise<Delivery[]> {
  const ctx = sendContext(config.notify);
  return Promise.all(
    channels.map(async (ch) => {
      const n = testNotification(ch.name);
      const d = await deliver(ch, n, ctx);
      logDelivery(config, n, d);
      return d;
    }),
  );
}

/** Where a channel sends, for people: never a secret (a URL from the environment is shown as its variable). */
export function describeTarget(ch: ChannelConfig): string {
  switch (ch.type) {
    case "command":
      return ch.command;
    case "email":
      return `${ch.to.join(", ")} via ${ch.sendmail ?? `smtp://${ch.smtp!.host}:${ch.smtp!.port}`}`;
    default:
      return ch.urlEnv ? `$${ch.urlEnv}` : new URL(ch.url!).origin;
  }
}
