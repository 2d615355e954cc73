/** How each channel renders one event: Slack and Discord JSON, the email message. */
import { describe, expect, it } from "bun:test";
import type { EmailChannel } from "../../src/lib/config/notify.ts";
import { emailBody, emailMessage } from "../../src/lib/notify/email.ts";
import { makeNotification } from "../../src/lib/notify/event.ts";
import { discordBody, slackBody } from "../../src/lib/notify/http.ts";

const failure = makeNotification({
  event: "verify.failure",
  title: "sqlbak: verification of app-1 FAILED — ünïcode",
  message: "Backup app-1 of app FAILED quick verification: bad page\n@everyone look",
  database: "app",
  id: "app-1",
  error: "bad page",
  investigate: "sqlbak verify app-1 --level full",
});

const channel: EmailChannel = {
  type: "email",
  name: "mail",
  on: [],
  to: ["a@example.test"],
  from: "s@example.test",
  sendmail: "/x",
};

describe("chat bodies", () => {
  it("gives Slack the title, a danger attachment with the facts, and the event in the footer", () => {
    const b = slackBody(failure) as { text: string; attachments: Record<string, unknown>[] };
    expect(b.text).toBe(`*${failure.title}*`);
    expect(b.attachments[0]).toMatchObject({
      color: "danger",
      text: failure.message,
      footer: expect.stringMatching(/ · verify\.failure$/),
    });
    expect(b.attachments[0]!.fields).toContainEqual({
      title: "Investigate",
      value: "`sqlbak verify app-1 --level full`",
      short: true,
    });
  });

  it("gives Discord one red embed and lets no text mention anyone", () => {
    const b = discordBody({ ...failure, message: "x".repeat(5000) }) as {
      allowed_mentions: unknown;
      embeds: { description: string; color: number; fields: { name: string }[] }[];
    };
    expect(b.allowed_mentions).toEqual({ parse: [] });
    expect(b.embeds[0]!.color).toBe(0xe01e5a);
    // Discord refuses an embed description over 4096 characters.
    expect(b.embeds[0]!.description).toHaveLength(4096);
    expect(b.embeds[0]!.fields.map((f) => f.name)).toEqual(["Database", "Backup", "Error", "Investigate"]);
    expect((discordBody({ ...failure, ok: true }) as { embeds: { color: number }[] }).embeds[0]!.color).toBe(0x2eb67d);
  });
});

describe("email", () => {
  it("says so when a failure has no last good backup", () => {
    expect(emailBody(failure)).toMatch(/^Last good backup: +none found$/m);
    expect(emailBody({ ...failure, event: "backup.success", ok: true })).not.toContain("Last good backup");
  });

  it("encodes a non-ASCII subject as an RFC 2047 word and keeps headers on one line", () => {
    const m = emailMessage({ ...channel }, { ...failure, title: "line one\r\nBcc: evil@example.test ü" }, true);
    const headers = m.slice(0, m.indexOf("\n\n")).split("\n");
    const subject = headers.find((h) => h.startsWith("Subject: "))!;
    expect(subject).toMatch(/^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    expect(Buffer.from(subject.slice(19, -2), "base64").toString("utf8")).toBe("line one Bcc: evil@example.test ü");
    expect(headers.some((h) => h.startsWith("Bcc:"))).toBe(false);
    expect(headers).toContain("Content-Transfer-Encoding: 8bit");
  });
});
