/** `[notify]` and `[[notify.channel]]`: what loads, and one clear message per mistake. */
import { describe, expect, it } from "bun:test";
import type { EventType } from "../../src/lib/config/notify.ts";
import { configProblems, configProject } from "../helpers/config.ts";

const load = (toml: string) => configProject(toml).config().notify;

describe("notify channels", () => {
  it("keeps today's [notify] keys as channels named after their type, with the old on names as aliases", () => {
    const n = load(`[notify]\non = ["failure", "health"]\nntfy = "https://ntfy.example/t"\ncommand = "page-me"`);
    const events: EventType[] = [
      "backup.failure",
      "copy.failure",
      "verify.failure",
      "health.problem",
      "health.recovered",
    ];
    expect(n.channels).toEqual([
      { type: "ntfy", name: "ntfy", on: events, url: "https://ntfy.example/t", tokenEnv: undefined },
      { type: "command", name: "command", on: events, command: "page-me", commandEnv: [] },
    ]);
    expect(load(`[notify]\non = ["success"]\nwebhook = "http://h/x"`).channels[0]!.on).toEqual(["backup.success"]);
    expect(load(`[notify]\non = ["all"]\nwebhook = "http://h/x"`).channels[0]!.on).toHaveLength(10);
  });

  it("resolves channels of one type side by side, each with its own on (else [notify] on)", () => {
    const { dir, config } = configProject(
      `[notify]\non = ["backup.failure"]\n` +
        `[[notify.channel]]\nname = "ops"\ntype = "slack"\nurl_env = "OPS_SLACK"\non = ["success", "restore"]\n` +
        `[[notify.channel]]\nname = "dev"\ntype = "slack"\nurl = "https://hooks.slack.test/x"\n` +
        `[[notify.channel]]\ntype = "email"\nto = ["a@example.test"]\nfrom = "b@example.test"\n` +
        `smtp_host = "mail.example.test"\nsmtp_ca_file = "ca.pem"\nsmtp_username_env = "U"\nsmtp_password_env = "P"\n`,
    );
    const n = config().notify;
    expect(n.channels.map((c) => [c.name, c.type, c.on])).toEqual([
      ["ops", "slack", ["backup.success", "restore"]],
      ["dev", "slack", ["backup.failure"]],
      ["email", "email", ["backup.failure"]],
    ]);
    expect(n.channels[2]).toMatchObject({
      smtp: { host: "mail.example.test", port: 587, tls: "starttls", caFile: `${dir}/ca.pem`, passwordEnv: "P" },
    });
    // Variables holding secrets are known as such: a command never gets them.
    expect(n.secretEnv.sort()).toEqual(["OPS_SLACK", "P", "U"]);
  });

  it.each([
    ["an unknown event", `[notify]\non = ["backup.sometimes"]`, /notify\.on: expected a list of success \| failure/],
    ["a channel without a type", `[[notify.channel]]\nurl = "http://x/y"`, /notify\.channel\[0\]\.type: is required/],
    [
      "an unknown type",
      `[[notify.channel]]\ntype = "teams"`,
      /notify\.channel\[0\]\.type: "teams" is not one of ntfy \| webhook/,
    ],
    [
      "a key of another type",
      `[[notify.channel]]\ntype = "slack"\nurl = "http://x/y"\nto = ["a@b.c"]`,
      /notify\.channel\[0\]\.to: unknown key for type "slack" \(allowed: name, type, on, url, url_env\)/,
    ],
    [
      "both url and url_env",
      `[[notify.channel]]\ntype = "discord"\nurl = "http://x/y"\nurl_env = "D"`,
      /notify\.channel\[0\]: a discord channel needs exactly one of url and url_env/,
    ],
    [
      "a secret written into the file",
      `[[notify.channel]]\ntype = "email"\nto = ["a@b.c"]\nfrom = "s@b.c"\nsmtp_host = "m"\nsmtp_password = "hunter2"`,
      /notify\.channel\[0\]\.smtp_password: secrets never go in the config file: .* smtp_password_env/,
    ],
    [
      "a URL where the variable's name belongs",
      `[[notify.channel]]\ntype = "slack"\nurl_env = "https://hooks.slack.com/services/T/B/x"`,
      /notify\.channel\[0\]\.url_env: "https:\/\/hooks.slack.com\/services\/T\/B\/x" is not an environment variable name/,
    ],
    [
      "an email channel with neither transport",
      `[[notify.channel]]\ntype = "email"\nto = ["a@b.c"]\nfrom = "s@b.c"`,
      /notify\.channel\[0\]: an email channel needs exactly one of smtp_host and sendmail/,
    ],
    [
      "a bad recipient",
      `[[notify.channel]]\ntype = "email"\nto = ["nobody"]\nfrom = "s@b.c"\nsendmail = "/usr/sbin/sendmail"`,
      /notify\.channel\[0\]\.to: expected a list of email addresses/,
    ],
    [
      "a username without its password",
      `[[notify.channel]]\ntype = "email"\nto = ["a@b.c"]\nfrom = "s@b.c"\nsmtp_host = "m"\nsmtp_username_env = "U"`,
      /notify\.channel\[0\]\.smtp_password_env: smtp_username_env and smtp_password_env go together/,
    ],
    [
      "an SMTP key with sendmail",
      `[[notify.channel]]\ntype = "email"\nto = ["a@b.c"]\nfrom = "s@b.c"\nsendmail = "/x"\nsmtp_port = 25`,
      /notify\.channel\[0\]\.smtp_port: applies only with smtp_host/,
    ],
    [
      "two channels of one name",
      `[notify]\nwebhook = "http://x/y"\n[[notify.channel]]\ntype = "webhook"\nurl = "http://x/z"`,
      /notify\.channel\[0\]\.name: "webhook" is already used by notify\.webhook; give each channel its own name/,
    ],
    [
      "a command channel handed a secret",
      `[[notify.channel]]\ntype = "slack"\nurl_env = "SLACK"\n[[notify.channel]]\ntype = "command"\ncommand = "x"\ncommand_env = ["SLACK"]`,
      /notify\.channel\[1\]\.command_env: "SLACK" holds a secret \(notify\.channel\[0\]\.url_env\)/,
    ],
  ])("reports %s", (_what, toml, message) => {
    const problems = configProblems(toml);
    expect(problems.some((p) => message.test(p))).toBe(true);
  });
});
