/**
 * The email channel: a plain-text message with the facts an admin needs (what
 * happened, the error, the last good backup, the command to investigate),
 * submitted over SMTP (smtp.ts) or handed to a local sendmail on stdin.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { EmailChannel } from "../config/index.ts";
import { runProcess } from "./command.ts";
import type { Notification } from "./event.ts";
import { readSecret, type SendContext } from "./secret.ts";
import { sendSmtp } from "./smtp.ts";

/** The body: the message, then one labelled line per fact. */
export function emailBody(n: Notification): string {
  const facts: [string, string | undefined][] = [
    ["Event", n.event],
    ["Database", n.database],
    ["Destination", n.destination],
    ["Backup", n.id],
    ["Live database", n.path],
    ["Error", n.error],
    ["Last good backup", n.last_good_id ? `${n.last_good_id} (${n.last_good_at})` : n.ok ? undefined : "none found"],
    ["Restored to", n.target],
    ["Safety copy", n.pre_restore_file ?? n.pre_restore_id],
    ["Undo", n.undo],
    ["Investigate", n.investigate],
    ["Host", n.host],
    ["Time", n.time],
  ];
  const width = Math.max(...facts.filter(([, v]) => v).map(([l]) => l.length)) + 2;
  const lines = [n.title, "", n.message, ""];
  if (n.problems?.length) lines.push("Problems:", ...n.problems.map((p) => `  - ${p}`), "");
  if (n.removed?.length) lines.push("Removed:", ...n.removed.map((r) => `  - ${r.id} (${r.reason})`), "");
  for (const [label, v] of facts) if (v !== undefined && v !== "") lines.push(`${`${label}:`.padEnd(width)}${v}`);
  lines.push("", `-- sqlbak ${n.version}`);
  return `${lines.join("\n")}\n`;
}

/** A header value on one line; non-ASCII as an RFC 2047 encoded word. */
function header(v: string): string {
  const one = v.replace(/[\r\n]+/g, " ");
  return /^[\x20-\x7e]*$/.test(one) ? one : `=?UTF-8?B?${Buffer.from(one, "utf8").toString("base64")}?=`;
}

/**
 * The whole message. ASCII bodies go as 7bit; others as 8bit when the
 * transport takes it (sendmail, or an SMTP server offering 8BITMIME), else base64.
 */
export function emailMessage(ch: EmailChannel, n: Notification, eightBit: boolean): string {
  const body = emailBody(n);
  const ascii = /^[\x00-\x7f]*$/.test(body);
  const encoding = ascii ? "7bit" : eightBit ? "8bit" : "base64";
  const text =
    encoding === "base64"
      ? (Buffer.from(body, "utf8")
          .toString("base64")
          .match(/.{1,76}/g)
          ?.join("\n") ?? "")
      : body;
  const domain = ch.from.split("@")[1] ?? hostname();
  return [
    `From: ${ch.from}`,
    `To: ${ch.to.join(", ")}`,
    `Subject: ${header(n.title)}`,
    `Date: ${new Date(n.time).toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <${randomBytes(12).toString("hex")}@${domain}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Transfer-Encoding: ${encoding}`,
    `X-Sqlbak-Event: ${n.event}`,
    "",
    text,
  ].join("\n");
}

export async function sendEmail(ch: EmailChannel, n: Notification, ctx: SendContext): Promise<void> {
  if (ch.sendmail) {
    // Recipients come from the headers (-t): nothing but the command and flags on the command line.
    const env: Record<string, string> = {};
    for (const k of ["PATH", "HOME", "LANG", "TZ", "USER", "LOGNAME"]) if (ctx.env[k]) env[k] = ctx.env[k]!;
    await runProcess([ch.sendmail, "-t", "-i"], env, emailMessage(ch, n, true), ctx.timeoutMs);
    return;
  }
  const s = ch.smtp!;
  const creds =
    s.usernameEnv && s.passwordEnv
      ? {
          user: readSecret(s.usernameEnv, ctx, "smtp_username_env"),
          pass: readSecret(s.passwordEnv, ctx, "smtp_password_env"),
        }
      : null;
  await sendSmtp(s, creds, { from: ch.from, to: ch.to }, (eightBit) => emailMessage(ch, n, eightBit), ctx.timeoutMs);
}
