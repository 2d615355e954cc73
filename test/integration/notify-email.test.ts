/** The email channel against a real SMTP server on 127.0.0.1 (STARTTLS, AUTH) and a real sendmail-style script. */
import { describe, expect, it } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EmailChannel, SmtpSettings } from "../../src/lib/config/notify.ts";
import { makeNotification } from "../../src/lib/notify/event.ts";
import { deliver } from "../../src/lib/notify/send.ts";
import { parseMail, startSmtp } from "../helpers/smtp.ts";
import { tempDir } from "../helpers/tmp.ts";

const PASSWORD = "s3cret-smtp-password";
const ENV = { ...process.env, SMTP_USER: "alerts", SMTP_PASS: PASSWORD };

const failure = () =>
  makeNotification({
    event: "backup.failure",
    title: "sqlbak: backup of app FAILED",
    message: "Backup of app (/srv/app.db) failed: disk full — no space left",
    database: "app",
    path: "/srv/app.db",
    error: "disk full",
    last_good_id: "app-20261203T100000000Z-abcd",
    last_good_at: "2026-12-03T10:00:00.000Z",
    investigate: "sqlbak stats app --config /etc/sqlbak/config.toml",
  });

function channel(smtp: Partial<SmtpSettings> & { port: number }, extra: Partial<EmailChannel> = {}): EmailChannel {
  return {
    type: "email",
    name: "mail",
    on: ["backup.failure"],
    to: ["ops@example.test", "oncall@example.test"],
    from: "sqlbak@example.test",
    smtp: { host: "127.0.0.1", tls: "starttls", usernameEnv: "SMTP_USER", passwordEnv: "SMTP_PASS", ...smtp },
    ...extra,
  };
}

const ctx = (env: NodeJS.ProcessEnv = ENV, timeoutMs = 5000) => ({ env, timeoutMs, secretEnv: ["SMTP_PASS"] });

describe("email over SMTP", () => {
  it("sends over STARTTLS with AUTH PLAIN a plain-text body with the error, the last good backup and the command", async () => {
    const srv = await startSmtp({ users: { alerts: PASSWORD } });
    const d = await deliver(channel({ port: srv.port, caFile: srv.certFile }), failure(), ctx());
    expect(d).toMatchObject({ ok: true });
    expect(srv.messages).toHaveLength(1);
    const m = srv.messages[0]!;
    expect(m).toMatchObject({
      from: "sqlbak@example.test",
      to: ["ops@example.test", "oncall@example.test"],
      tls: true,
      auth: { mechanism: "PLAIN", user: "alerts" },
    });
    const { headers, body } = parseMail(m.data);
    expect(headers.subject).toBe("sqlbak: backup of app FAILED");
    expect(headers["x-sqlbak-event"]).toBe("backup.failure");
    expect(headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(headers["content-transfer-encoding"]).toBe("8bit");
    expect(body).toContain("failed: disk full — no space left");
    expect(body).toMatch(/^Error: +disk full$/m);
    expect(body).toMatch(/^Last good backup: +app-20261203T100000000Z-abcd \(2026-12-03T10:00:00.000Z\)$/m);
    expect(body).toMatch(/^Investigate: +sqlbak stats app --config \/etc\/sqlbak\/config.toml$/m);
    expect(m.data).not.toContain(PASSWORD);
  });

  it("uses AUTH LOGIN when asked, and base64 when the server lacks 8BITMIME", async () => {
    const srv = await startSmtp({ users: { alerts: PASSWORD }, eightBit: false });
    const d = await deliver(channel({ port: srv.port, caFile: srv.certFile, auth: "login" }), failure(), ctx());
    expect(d.ok).toBe(true);
    expect(srv.messages[0]!.auth).toEqual({ mechanism: "LOGIN", user: "alerts" });
    const { headers, body } = parseMail(srv.messages[0]!.data);
    expect(headers["content-transfer-encoding"]).toBe("base64");
    expect(body).toContain("failed: disk full — no space left");
  });

  it("reports a refused login with the server's reply, never the password", async () => {
    const srv = await startSmtp({ users: { alerts: "another-password" } });
    const d = await deliver(channel({ port: srv.port, caFile: srv.certFile }), failure(), ctx());
    expect(d.ok).toBe(false);
    expect(d.error).toContain("AUTH PLAIN refused: 535");
    expect(d.error).not.toContain(PASSWORD);
    expect(srv.messages).toEqual([]);
  });

  it("never sends credentials without TLS, and never trusts an unknown certificate", async () => {
    const srv = await startSmtp({ users: { alerts: PASSWORD } });
    const plain = await deliver(channel({ port: srv.port, tls: "none" }), failure(), ctx());
    expect(plain.error).toContain('refusing to send credentials without TLS (smtp_tls = "none")');
    const untrusted = await deliver(channel({ port: srv.port }), failure(), ctx());
    expect(untrusted.ok).toBe(false);
    expect(untrusted.error).toContain("TLS failed");
    expect(srv.messages).toEqual([]);
  });

  it("fails the channel, naming the variable, when a credential variable is unset", async () => {
    const srv = await startSmtp({ users: { alerts: PASSWORD } });
    const d = await deliver(channel({ port: srv.port, caFile: srv.certFile }), failure(), ctx({ SMTP_USER: "alerts" }));
    expect(d.error).toBe("environment variable SMTP_PASS (smtp_password_env) is not set");
  });
});

describe("email through sendmail", () => {
  it("pipes the message to `<sendmail> -t -i`, recipients in the headers only", async () => {
    const dir = tempDir();
    const script = join(dir, "sendmail");
    const out = join(dir, "stdin.txt");
    writeFileSync(script, `#!/bin/sh\necho "$@" > '${out}.args'\ncat > '${out}'\n`);
    chmodSync(script, 0o755);
    const ch: EmailChannel = { ...channel({ port: 1 }), smtp: undefined, sendmail: script };
    expect(await deliver(ch, failure(), ctx())).toMatchObject({ ok: true });
    expect(readFileSync(`${out}.args`, "utf8").trim()).toBe("-t -i");
    const { headers, body } = parseMail(readFileSync(out, "utf8"));
    expect(headers.to).toBe("ops@example.test, oncall@example.test");
    expect(headers.from).toBe("sqlbak@example.test");
    expect(body).toMatch(/^Last good backup: +app-20261203T100000000Z-abcd/m);
  });

  it("counts a sendmail that exits non-zero as a failed delivery", async () => {
    const dir = tempDir();
    const script = join(dir, "sendmail");
    writeFileSync(script, "#!/bin/sh\ncat >/dev/null\necho 'queue full' >&2\nexit 75\n");
    chmodSync(script, 0o755);
    const ch: EmailChannel = { ...channel({ port: 1 }), smtp: undefined, sendmail: script };
    const d = await deliver(ch, failure(), ctx(ENV, 2000));
    expect(d).toMatchObject({ ok: false, error: "exited 75: queue full" });
  });
});
