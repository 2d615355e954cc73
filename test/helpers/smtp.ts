/**
 * A real SMTP server on 127.0.0.1 for the email channel: EHLO, STARTTLS with a
 * self-signed certificate made by `openssl` for this server, AUTH PLAIN and
 * LOGIN, MAIL/RCPT/DATA; it records every message it accepts. Stopped after each test.
 */
import { afterEach } from "bun:test";
import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { tempDir } from "./tmp.ts";

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The message as sent, dot-unstuffed, CRLF line ends. */
  data: string;
  /** The AUTH mechanism used and the user it proved, if any. */
  auth: { mechanism: string; user: string } | null;
  /** Whether the session was under TLS when the message was sent. */
  tls: boolean;
}

export interface SmtpServerOptions {
  /** user → password; when given, MAIL needs AUTH. */
  users?: Record<string, string>;
  /** Offer 8BITMIME (default true). */
  eightBit?: boolean;
}

const servers: net.Server[] = [];
afterEach(() => {
  while (servers.length) servers.pop()!.close();
});

/** A self-signed certificate for 127.0.0.1 and localhost; returns the PEM paths. */
export function makeCertificate(): { certFile: string; keyFile: string } {
  const dir = tempDir("sqlbak-cert-");
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const r = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
    ].concat(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]),
    { stdout: "ignore", stderr: "pipe" },
  );
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return { certFile, keyFile };
}

export async function startSmtp(opts: SmtpServerOptions = {}) {
  const { certFile, keyFile } = makeCertificate();
  const key = readFileSync(keyFile);
  const cert = readFileSync(certFile);
  const messages: ReceivedMail[] = [];
  const server = net.createServer((plain) => session(plain));

  function session(plain: net.Socket) {
    let sock: net.Socket | tls.TLSSocket = plain;
    let secure = false;
    let buf = "";
    let auth: ReceivedMail["auth"] = null;
    let mail: { from: string; to: string[] } | null = null;
    let inData = false;
    let pending: ((line: string) => void) | null = null;
    const say = (line: string) => sock.write(`${line}\r\n`);
    const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");

    const onData = (d: Buffer) => {
      buf += d.toString("utf8");
      for (;;) {
        if (inData) {
          const end = buf.indexOf("\r\n.\r\n");
          if (end < 0) return;
          const data = buf.slice(0, end + 2).replace(/^\.\./gm, ".");
          buf = buf.slice(end + 5);
          inData = false;
          messages.push({ ...mail!, data, auth, tls: secure });
          mail = null;
          say("250 2.0.0 queued");
          continue;
        }
        const i = buf.indexOf("\r\n");
        if (i < 0) return;
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (pending) {
          const p = pending;
          pending = null;
          p(line);
          continue;
        }
        if (command(line) === "starttls") return;
      }
    };

    const finishAuth = (user: string, pass: string, mechanism: string) => {
      if (opts.users?.[user] === pass) {
        auth = { mechanism, user };
        say("235 2.7.0 Authentication successful");
      } else say("535 5.7.8 Authentication credentials invalid");
    };

    function command(line: string): string | undefined {
      const [verb = "", ...rest] = line.split(" ");
      const arg = rest.join(" ");
      switch (verb.toUpperCase()) {
        case "EHLO": {
          const ext = [
            ...(secure ? [] : ["STARTTLS"]),
            ...(secure && opts.users ? ["AUTH PLAIN LOGIN"] : []),
            ...(opts.eightBit === false ? [] : ["8BITMIME"]),
          ];
          say(`250${ext.length ? "-" : " "}sqlbak-test-smtp`);
          for (const [i, e] of ext.entries()) say(`250${i === ext.length - 1 ? " " : "-"}${e}`);
          return;
        }
        case "STARTTLS": {
          say("220 2.0.0 Ready to start TLS");
          plain.removeListener("data", onData);
          const t = new tls.TLSSocket(plain, { isServer: true, key, cert });
          t.on("data", onData);
          t.on("error", () => plain.destroy());
          sock = t;
          secure = true;
          auth = null;
          return "starttls";
        }
        case "AUTH": {
          const [mech = "", initial] = arg.split(" ");
          if (!secure) return void say("538 5.7.11 Encryption required");
          if (mech.toUpperCase() === "PLAIN") {
            const [, user = "", pass = ""] = b64(initial ?? "").split("\0");
            return void finishAuth(user, pass, "PLAIN");
          }
          if (mech.toUpperCase() === "LOGIN") {
            say("334 VXNlcm5hbWU6");
            pending = (u) => {
              say("334 UGFzc3dvcmQ6");
              pending = (p) => finishAuth(b64(u), b64(p), "LOGIN");
            };
            return;
          }
          return void say("504 5.5.4 Unrecognized authentication type");
        }
        case "MAIL":
          if (opts.users && !auth) return void say("530 5.7.0 Authentication required");
          mail = { from: /<(.*)>/.exec(arg)?.[1] ?? "", to: [] };
          return void say("250 2.1.0 Ok");
        case "RCPT":
          if (!mail) return void say("503 5.5.1 MAIL first");
          mail.to.push(/<(.*)>/.exec(arg)?.[1] ?? "");
          return void say("250 2.1.5 Ok");
        case "DATA":
          if (!mail?.to.length) return void say("503 5.5.1 RCPT first");
          inData = true;
          return void say("354 End data with <CR><LF>.<CR><LF>");
        case "QUIT":
          say("221 2.0.0 Bye");
          sock.end();
          return;
        case "RSET":
        case "NOOP":
          return void say("250 2.0.0 Ok");
        default:
          return void say("502 5.5.2 Command not recognized");
      }
    }

    plain.on("data", onData);
    plain.on("error", () => {});
    say("220 sqlbak-test-smtp ESMTP");
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { port: (server.address() as net.AddressInfo).port, certFile, messages };
}

/** A recorded message split into headers (lower-case names) and its body, decoded from base64 when so sent. */
export function parseMail(data: string): { headers: Record<string, string>; body: string } {
  const text = data.replace(/\r\n/g, "\n");
  const split = text.indexOf("\n\n");
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, split).split("\n")) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const raw = text.slice(split + 2);
  const body =
    headers["content-transfer-encoding"] === "base64"
      ? Buffer.from(raw.replace(/\s+/g, ""), "base64").toString("utf8")
      : raw;
  return { headers, body };
}
