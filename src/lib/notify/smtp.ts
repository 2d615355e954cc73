/**
 * A small SMTP submission client over node:net/node:tls: EHLO, STARTTLS (or
 * TLS from the start), AUTH PLAIN or LOGIN, MAIL/RCPT/DATA, QUIT. Credentials
 * are never sent without TLS and never appear in an error; a server's reply
 * text does, so an admin sees why it refused.
 */
import { readFileSync } from "node:fs";
import type * as Net from "node:net";
import { hostname } from "node:os";
import type * as Tls from "node:tls";
import type { SmtpSettings } from "../config/index.ts";

/** node:net and node:tls load only when a mail is sent (together ≈ 3.5 ms at every start otherwise: docs/performance.md). */
const net = (): typeof Net => require("node:net");
const tls = (): typeof Tls => require("node:tls");

interface Reply {
  code: number;
  lines: string[];
}

class SmtpError extends Error {}

/** One SMTP session: reads multi-line replies off whichever socket is current (plain, then TLS). */
class Session {
  private buf = "";
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;
  constructor(
    private socket: Net.Socket | Tls.TLSSocket,
    private where: string,
  ) {
    this.attach(socket);
  }

  private attach(socket: Net.Socket | Tls.TLSSocket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.buf += d;
      this.deliver();
    });
    socket.on("error", (e) => this.fail(new SmtpError(`${this.where}: ${e.message}`)));
    socket.on("close", () => this.fail(new SmtpError(`${this.where}: the server closed the connection`)));
  }

  fail(e: Error) {
    this.failed ??= e;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(this.failed);
  }

  private deliver() {
    if (!this.waiting) return;
    const lines = this.buf.split("\r\n");
    for (let i = 0; i < lines.length - 1; i++) {
      const m = /^(\d{3})([ -])(.*)$/.exec(lines[i]!);
      if (m && m[2] === " ") {
        const reply = { code: Number(m[1]), lines: lines.slice(0, i + 1).map((l) => l.slice(4)) };
        this.buf = lines.slice(i + 1).join("\r\n");
        const w = this.waiting;
        this.waiting = null;
        w.resolve(reply);
        return;
      }
    }
  }

  read(): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  /** Sends `line` (a command) and checks the reply's code; `what` names the step in an error, never the line. */
  async command(line: string, expect: number[], what: string): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.expect(expect, what);
  }

  async expect(codes: number[], what: string): Promise<Reply> {
    const r = await this.read();
    if (!codes.includes(r.code)) throw new SmtpError(`${this.where}: ${what} refused: ${r.code} ${r.lines.join(" ")}`);
    return r;
  }

  /** Upgrades the connection in place (STARTTLS). */
  async startTls(options: Tls.ConnectionOptions): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    const secure = tls().connect({ ...options, socket: plain as Net.Socket });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", resolve);
      secure.once("error", reject);
    }).catch((e: Error) => {
      throw new SmtpError(`${this.where}: TLS failed: ${e.message}`);
    });
    this.attach(secure);
  }

  get secure(): boolean {
    return this.socket instanceof tls().TLSSocket;
  }

  close() {
    this.socket.destroy();
  }
}

function tlsOptions(s: SmtpSettings): Tls.ConnectionOptions {
  const ca = s.caFile ? [...tls().rootCertificates, readFileSync(s.caFile, "utf8")] : undefined;
  return { host: s.host, ca, rejectUnauthorized: true };
}

function connect(s: SmtpSettings): Net.Socket | Tls.TLSSocket {
  return s.tls === "tls" ? tls().connect({ ...tlsOptions(s), port: s.port }) : net().connect(s.port, s.host);
}

/** The EHLO keywords (upper case) with their parameters. */
function extensions(r: Reply): Map<string, string> {
  return new Map(
    r.lines.slice(1).map((l) => {
      const [k, ...rest] = l.split(" ");
      return [k!.toUpperCase(), rest.join(" ").toUpperCase()];
    }),
  );
}

async function authenticate(session: Session, s: SmtpSettings, ext: Map<string, string>, user: string, pass: string) {
  const offered = (ext.get("AUTH") ?? "").split(/\s+/);
  const mech = s.auth ? s.auth.toUpperCase() : offered.includes("PLAIN") ? "PLAIN" : "LOGIN";
  if (!offered.includes(mech))
    throw new SmtpError(
      `smtp ${s.host}:${s.port}: the server does not offer AUTH ${mech} (offers: ${offered.join(" ") || "none"})`,
    );
  const b64 = (t: string) => Buffer.from(t, "utf8").toString("base64");
  if (mech === "PLAIN") {
    await session.command(`AUTH PLAIN ${b64(`\0${user}\0${pass}`)}`, [235], "AUTH PLAIN");
    return;
  }
  await session.command("AUTH LOGIN", [334], "AUTH LOGIN");
  await session.command(b64(user), [334], "AUTH LOGIN (username)");
  await session.command(b64(pass), [235], "AUTH LOGIN");
}

/** `message` with CRLF line ends and dot-stuffed, ended by the lone dot. */
function dataBlock(message: string): string {
  const lines = message.replace(/\r?\n/g, "\n").split("\n");
  return `${lines.map((l) => (l.startsWith(".") ? `.${l}` : l)).join("\r\n")}\r\n.\r\n`;
}

export interface SmtpCredentials {
  user: string;
  pass: string;
}

/**
 * Submits `message` (headers and body) from `from` to `to` through `s`. Returns
 * whether the server took 8-bit data (`eightBit` is asked before the message is
 * built). Throws SmtpError with the step and the server's reply on a refusal.
 */
export async function sendSmtp(
  s: SmtpSettings,
  creds: SmtpCredentials | null,
  envelope: { from: string; to: string[] },
  build: (eightBit: boolean) => string,
  timeoutMs: number,
): Promise<void> {
  const where = `smtp ${s.host}:${s.port}`;
  const session = new Session(connect(s), where);
  const timer = setTimeout(() => session.fail(new SmtpError(`${where}: timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    await session.expect([220], "greeting");
    const me = hostname() || "localhost";
    let ext = extensions(await session.command(`EHLO ${me}`, [250], "EHLO"));
    if (s.tls === "starttls") {
      if (!ext.has("STARTTLS"))
        throw new SmtpError(`${where}: the server does not offer STARTTLS (smtp_tls = "starttls")`);
      await session.command("STARTTLS", [220], "STARTTLS");
      await session.startTls(tlsOptions(s));
      ext = extensions(await session.command(`EHLO ${me}`, [250], "EHLO"));
    }
    if (creds) {
      if (!session.secure)
        throw new SmtpError(`${where}: refusing to send credentials without TLS (smtp_tls = "none")`);
      await authenticate(session, s, ext, creds.user, creds.pass);
    }
    const eightBit = ext.has("8BITMIME");
    await session.command(`MAIL FROM:<${envelope.from}>${eightBit ? " BODY=8BITMIME" : ""}`, [250], "MAIL FROM");
    for (const rcpt of envelope.to) await session.command(`RCPT TO:<${rcpt}>`, [250, 251], `RCPT TO <${rcpt}>`);
    await session.command("DATA", [354], "DATA");
    await session.command(dataBlock(build(eightBit)).slice(0, -2), [250], "the message");
    await session.command("QUIT", [221], "QUIT").catch(() => undefined);
  } finally {
    clearTimeout(timer);
    session.close();
  }
}
