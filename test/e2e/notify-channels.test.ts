/**
 * Every event reaches every channel type, through the compiled binary, against
 * real listeners on 127.0.0.1: ntfy, the generic webhook, Slack and Discord
 * shapes (URLs from the environment), email over SMTP with STARTTLS and AUTH,
 * email through a sendmail script, and a command. No secret appears in what
 * they receive, in sqlbak's output or in the op log.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { chmodSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EVENT_TYPES } from "../../src/lib/config/notify.ts";
import { flipByte, listBackups, makeProject } from "../helpers/backups.ts";
import { runCli } from "../helpers/run-cli.ts";
import { parseMail, startSmtp } from "../helpers/smtp.ts";

const SECRETS = {
  SLACK_URL_TOKEN: "xoxb-slack-path-secret-123",
  DISCORD_URL_TOKEN: "discord-path-secret-456",
  SMTP_PASS: "smtp-password-789",
  NTFY_TOKEN: "tk_ntfy_secret_abc",
};

interface Hit {
  path: string;
  headers: Record<string, string>;
  body: string;
}

const stops: (() => void)[] = [];
afterEach(() => {
  while (stops.length) stops.pop()!();
});

function listener() {
  const hits: Hit[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      hits.push({ path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers), body: await req.text() });
      return new Response("ok");
    },
  });
  stops.push(() => server.stop(true));
  return { base: `http://127.0.0.1:${server.port}`, hits };
}

async function setup() {
  const http = listener();
  const smtp = await startSmtp({ users: { alerts: SECRETS.SMTP_PASS } });
  const p = makeProject({
    incremental: false,
    toml:
      "[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n" +
      `[notify]\non = ["all", "report"]\ntimeout = "5s"\n` +
      `[[notify.channel]]\nname = "phone"\ntype = "ntfy"\nurl = "${http.base}/ntfy/backups"\ntoken_env = "NTFY_TOKEN"\n` +
      `[[notify.channel]]\nname = "hook"\ntype = "webhook"\nurl = "${http.base}/hook"\n` +
      `[[notify.channel]]\nname = "team-slack"\ntype = "slack"\nurl_env = "SLACK_URL"\n` +
      `[[notify.channel]]\nname = "team-discord"\ntype = "discord"\nurl_env = "DISCORD_URL"\n` +
      `[[notify.channel]]\nname = "mail"\ntype = "email"\nto = ["ops@example.test"]\nfrom = "sqlbak@example.test"\n` +
      `smtp_host = "127.0.0.1"\nsmtp_port = ${smtp.port}\nsmtp_ca_file = "${smtp.certFile}"\n` +
      `smtp_username_env = "SMTP_USER"\nsmtp_password_env = "SMTP_PASS"\n` +
      `[[notify.channel]]\nname = "local-mail"\ntype = "email"\nto = ["ops@example.test"]\nfrom = "sqlbak@example.test"\n` +
      `sendmail = "./sendmail.sh"\n` +
      `[[notify.channel]]\nname = "pager"\ntype = "command"\ncommand = "env | grep ^SQLBAK_ >> pager.txt; echo --- >> pager.txt"\n`,
  });
  writeFileSync(join(p.dir, "sendmail.sh"), "#!/bin/sh\ncat >> sendmail.txt\necho '.' >> sendmail.txt\n");
  chmodSync(join(p.dir, "sendmail.sh"), 0o755);
  const env = {
    SLACK_URL: `${http.base}/slack/services/T0/B0/${SECRETS.SLACK_URL_TOKEN}`,
    DISCORD_URL: `${http.base}/discord/api/webhooks/1/${SECRETS.DISCORD_URL_TOKEN}`,
    SMTP_USER: "alerts",
    SMTP_PASS: SECRETS.SMTP_PASS,
    NTFY_TOKEN: SECRETS.NTFY_TOKEN,
  };
  return { p, http, smtp, env };
}

describe("every event to every channel type", () => {
  it("delivers backup, copy, rotate, verify, restore and health events to ntfy, webhook, slack, discord, smtp, sendmail and command", async () => {
    const { p, http, smtp, env } = await setup();
    const outputs: string[] = [];
    const run = async (args: string[], code: number) => {
      const r = await runCli(args, { cwd: p.dir, env });
      outputs.push(r.stdout, r.stderr);
      expect({ args, code: r.code, stderr: r.stderr }).toMatchObject({ args, code });
      expect(r.stderr).not.toContain("notification failed");
      return r;
    };
    // health.problem: nothing backed up yet.
    await run(["stats", "--check", "--local"], 3);
    await run(["backup", "--kind", "scheduled"], 0);
    // health.recovered: the next check after an unhealthy one passes.
    await run(["stats", "--check", "--local"], 0);
    // copy.failure: a destination whose folder is a file.
    writeFileSync(join(p.dir, "not-a-folder"), "x");
    writeFileSync(
      join(p.dir, "with-copy.toml"),
      `${readFileSync(join(p.dir, "sqlbak.toml"), "utf8")}\n[[destination]]\nname = "broken"\ntype = "dir"\npath = "not-a-folder"\n`,
    );
    await run(["backup", "--kind", "scheduled", "--config", "with-copy.toml"], 0);
    await run(["rotate"], 0);
    await run(["verify"], 0);
    renameSync(p.db, join(p.dir, "gone.db"));
    await run(["backup"], 1);
    renameSync(join(p.dir, "gone.db"), p.db);
    await run(["restore", "app", "--latest", "--yes"], 0);
    await run(["report", "--send", "--local"], 0);
    const newest = (await listBackups(p)).filter((b) => b.kind === "scheduled").at(-1)!;
    flipByte(newest.file, -20);
    await run(["verify", newest.id], 3);

    const all = [...EVENT_TYPES].sort();
    const seen = (events: string[]) => [...new Set(events)].sort();
    const at = (prefix: string) => http.hits.filter((h) => h.path.startsWith(prefix));
    const received: Record<string, string[]> = {
      ntfy: at("/ntfy/").map((h) => h.headers["x-sqlbak-event"]!),
      webhook: at("/hook").map((h) => JSON.parse(h.body).event),
      slack: at("/slack/").map((h) => JSON.parse(h.body).attachments[0].footer.split(" · ").at(-1)),
      discord: at("/discord/").map((h) => JSON.parse(h.body).embeds[0].footer.text.split(" · ").at(-1)),
      smtp: smtp.messages.map((m) => parseMail(m.data).headers["x-sqlbak-event"]!),
      sendmail: [...readFileSync(join(p.dir, "sendmail.txt"), "utf8").matchAll(/^X-Sqlbak-Event: (\S+)$/gm)].map(
        (m) => m[1]!,
      ),
      command: [...readFileSync(join(p.dir, "pager.txt"), "utf8").matchAll(/^SQLBAK_EVENT=(\S+)$/gm)].map((m) => m[1]!),
    };
    for (const [type, events] of Object.entries(received))
      expect({ type, events: seen(events) }).toEqual({ type, events: all });

    // The shapes each service expects.
    const slack = JSON.parse(at("/slack/").at(-1)!.body);
    expect(slack).toMatchObject({ text: expect.stringContaining("FAILED"), attachments: [{ color: "danger" }] });
    const discord = JSON.parse(at("/discord/").at(-1)!.body);
    expect(discord).toMatchObject({ allowed_mentions: { parse: [] }, embeds: [{ color: 0xe01e5a }] });
    expect(at("/ntfy/")[0]!.headers.authorization).toBe(`Bearer ${SECRETS.NTFY_TOKEN}`);
    expect(smtp.messages.every((m) => m.tls && m.auth?.user === "alerts")).toBe(true);
    const restore = at("/hook")
      .map((h) => JSON.parse(h.body))
      .find((e) => e.event === "restore");
    expect(restore).toMatchObject({
      database: "app",
      target: p.db,
      pre_restore_file: expect.stringMatching(/app\.db\.pre-restore-\d{8}T\d{9}Z$/),
      undo: expect.stringContaining(" --file "),
      user: expect.any(String),
    });
    const rotate = at("/hook")
      .map((h) => JSON.parse(h.body))
      .find((e) => e.event === "rotate");
    expect(rotate.removed).toEqual([expect.objectContaining({ id: expect.any(String), reason: expect.any(String) })]);
    const failed = at("/hook")
      .map((h) => JSON.parse(h.body))
      .find((e) => e.event === "backup.failure");
    expect(failed).toMatchObject({
      last_good_id: expect.any(String),
      investigate: expect.stringContaining("sqlbak stats app"),
    });

    // No secret in anything sent, printed or logged (ntfy's token only in its Authorization header).
    const log = readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8");
    expect(log).toContain('"op":"notify","channel":"team-slack"');
    const sent = [
      ...http.hits.map((h) => `${h.body} ${JSON.stringify({ ...h.headers, authorization: undefined })}`),
      ...smtp.messages.map((m) => m.data),
      readFileSync(join(p.dir, "sendmail.txt"), "utf8"),
      readFileSync(join(p.dir, "pager.txt"), "utf8"),
    ];
    for (const text of [...sent, ...outputs, log])
      for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  }, 120_000);
});
