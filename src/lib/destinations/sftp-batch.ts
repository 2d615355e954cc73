/**
 * How sqlbak talks to OpenSSH's `sftp` client in batch mode (the session
 * itself is sftp-session.ts) and reads what it says. sqlbak
 * has no SSH code of its own: authentication, host keys, ~/.ssh/config,
 * agents and jump hosts all behave exactly as they do for `ssh` itself.
 * This module knows the batch syntax (quoting), the `ls -n` output format,
 * and turns ssh's diagnostics into one-line messages.
 */

export interface SftpTarget {
  host: string;
  port: number;
  user: string;
  /** Absolute path of the private key, or undefined for ssh's defaults (agent, ~/.ssh/id_*). */
  keyFile?: string;
  /** Absolute path of a pinned known_hosts file, or undefined for ssh's own known_hosts. */
  knownHosts?: string;
}

export interface BatchResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** ssh gives up on a host that does not answer within this many seconds (cron must not hang). */
export const CONNECT_TIMEOUT_S = 20;
/** A silent connection is declared dead after SERVER_ALIVE_INTERVAL_S × SERVER_ALIVE_COUNT seconds. */
export const SERVER_ALIVE_INTERVAL_S = 15;
export const SERVER_ALIVE_COUNT = 4;
/** `sftp` exits with ssh's status 255 when the connection itself failed. */
const SSH_FAILED = 255;

/**
 * Quotes one path for a batch line. Inside double quotes sftp treats glob
 * characters literally; `"` and `\` are escaped. A newline cannot be written
 * in a batch line at all, so such paths are refused.
 */
export function quoteArg(path: string): string {
  if (/[\x00-\x1f\x7f]/.test(path)) throw new Error(`path ${JSON.stringify(path)} contains a control character`);
  return `"${path.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The argv for `sftp -b -` (commands on its stdin, one connection until stdin ends): never prompts (BatchMode), host keys per `target.knownHosts`. */
export function sftpArgv(target: SftpTarget): string[] {
  const opts = [
    "BatchMode=yes",
    `ConnectTimeout=${CONNECT_TIMEOUT_S}`,
    `ServerAliveInterval=${SERVER_ALIVE_INTERVAL_S}`,
    `ServerAliveCountMax=${SERVER_ALIVE_COUNT}`,
    `User=${target.user}`,
  ];
  if (target.keyFile) opts.push("IdentitiesOnly=yes");
  // A pinned file is the only authority: the system-wide list is not consulted either.
  if (target.knownHosts) {
    opts.push(`UserKnownHostsFile=${target.knownHosts}`, "GlobalKnownHostsFile=/dev/null", "StrictHostKeyChecking=yes");
  }
  const argv = ["sftp", "-b", "-", "-P", String(target.port)];
  if (target.keyFile) argv.push("-i", target.keyFile);
  for (const o of opts) argv.push("-o", o);
  argv.push(target.host.includes(":") ? `[${target.host}]` : target.host);
  return argv;
}

/** sftp's messages for a path that does not exist (ls, get, rm, rename). */
export function isNotFound(line: string): boolean {
  return /not found\.?$|No such file or directory$/.test(line.trim());
}

function stderrLines(stderr: string): string[] {
  return stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(
      (l) =>
        l &&
        !l.startsWith("@@@") &&
        l !== "Connection closed" &&
        !l.startsWith("Warning: Permanently added") &&
        // `-mkdir` of a folder that exists complains and is ignored by design
        !l.startsWith("remote mkdir "),
    );
}

/**
 * What a batch of `-`-prefixed commands (which sftp goes on after) complained
 * about last, or undefined when every command worked; ssh's and sftp's
 * harmless notes are not complaints.
 */
export function lastComplaint(result: BatchResult): string | undefined {
  return stderrLines(result.stderr).at(-1);
}

/**
 * One line saying why a batch failed: ssh's connection problems (refused,
 * authentication, host key) get plain words and a hint, command failures
 * keep sftp's own last message.
 */
export function describeFailure(result: BatchResult, target: SftpTarget): string {
  const text = result.stderr;
  const at = `${target.host} port ${target.port}`;
  const keyHint = target.knownHosts ? `known_hosts file ${target.knownHosts}` : "this user's ~/.ssh/known_hosts";
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/.test(text))
    return (
      `the host key of ${at} does not match the one in ${keyHint} ` +
      "(the server was reinstalled, or someone is intercepting the connection); " +
      "check the fingerprint before replacing it"
    );
  if (/Host key verification failed/.test(text))
    return (
      `the host key of ${at} is not known in ${keyHint}; ` +
      `add it after checking its fingerprint (ssh-keyscan -p ${target.port} ${target.host}), ` +
      "or connect once with ssh as this user"
    );
  if (/Permission denied \(/.test(text)) {
    const key = target.keyFile ? `key ${target.keyFile}` : "ssh's default keys";
    return (
      `authentication failed for user "${target.user}" on ${at} with ${key} ` +
      "(is the public key in the server's authorized_keys?)"
    );
  }
  if (/Connection refused/.test(text)) return `connection refused by ${at} (is the SSH server running on that port?)`;
  if (/Could not resolve hostname/.test(text)) return `cannot resolve host name "${target.host}"`;
  if (/timed out/i.test(text)) return `no answer from ${at} (connection timed out)`;
  if (/No route to host|Network is unreachable/.test(text)) return `${at} is unreachable (no route to host)`;
  if (/subsystem request failed/.test(text)) return `${at} does not offer the sftp subsystem`;
  const last = stderrLines(text).at(-1);
  if (last) return result.code === SSH_FAILED ? `the connection to ${at} failed: ${last}` : last;
  if (/Connection closed/.test(text)) return `the connection to ${at} was closed`;
  // 128 + n: sftp was ended by signal n, typically SIGPIPE when the connection died under it.
  if (result.code > 128) return `the connection to ${at} broke off (sftp ended by signal ${result.code - 128})`;
  return `sftp failed with exit status ${result.code}`;
}

export interface LsEntry {
  /** The path as sftp printed it (what was asked for, joined with the entry name). */
  path: string;
  isFile: boolean;
  isDir: boolean;
  size: number;
  /**
   * The modification time as `ls` shows it (read in UTC: the session runs
   * sftp with TZ=UTC): the minute for a time within six months of now, else
   * the day; absent when the date cannot be read (another locale).
   */
  time?: { text: string; startMs: number; widthMs: number };
}

// `-rw-------    ? 0        0         3000000 Nov 22 07:41 /srv/backups/app/x.db.zst`
// (mode, links, uid, gid, size, three date fields, one space, then the name, which may contain spaces)
const LS_LINE = /^([-a-zA-Z])[-rwxsStTl+.@]{9}\S*\s+\S+\s+\S+\s+\S+\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+) (.+)$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * `Nov 22 07:41` (this year, the last or the next: whichever is nearest
 * `nowMs`, as sftp shows a time within six months so) or `Nov 22  2025`
 * (a day), in UTC.
 */
export function parseLsTime(month: string, day: string, last: string, nowMs: number): LsEntry["time"] {
  const m = MONTHS.indexOf(month);
  const d = Number(day);
  if (m < 0 || !/^\d{1,2}$/.test(day) || d < 1 || d > 31) return undefined;
  const hm = /^(\d\d):(\d\d)$/.exec(last);
  if (hm) {
    const year = new Date(nowMs).getUTCFullYear();
    const candidates = [year - 1, year, year + 1].map((y) => Date.UTC(y, m, d, Number(hm[1]), Number(hm[2])));
    const startMs = candidates.reduce((a, b) => (Math.abs(b - nowMs) < Math.abs(a - nowMs) ? b : a));
    if (new Date(startMs).getUTCDate() !== d) return undefined; // Feb 30
    return { text: new Date(startMs).toISOString().slice(0, 16), startMs, widthMs: MINUTE_MS };
  }
  if (!/^\d{4}$/.test(last)) return undefined;
  const startMs = Date.UTC(Number(last), m, d);
  if (new Date(startMs).getUTCDate() !== d) return undefined;
  return { text: new Date(startMs).toISOString().slice(0, 10), startMs, widthMs: DAY_MS };
}

/** Parses the lines `ls -n` printed for one command. */
export function parseLs(lines: string[], nowMs = Date.now()): LsEntry[] {
  const out: LsEntry[] = [];
  for (const line of lines) {
    const m = LS_LINE.exec(line);
    if (!m) continue;
    const time = parseLsTime(m[3]!, m[4]!, m[5]!, nowMs);
    out.push({ path: m[6]!, isFile: m[1] === "-", isDir: m[1] === "d", size: Number(m[2]), ...(time ? { time } : {}) });
  }
  return out;
}

/**
 * Splits batch stdout into the output of each command: sftp echoes every
 * command as `sftp> <line>` before running it, so section i belongs to the
 * i-th command line.
 */
export function splitSections(stdout: string): string[][] {
  const sections: string[][] = [];
  for (const line of stdout.split("\n")) {
    if (line.startsWith("sftp> ")) sections.push([]);
    else if (line && sections.length) sections.at(-1)!.push(line);
  }
  return sections;
}
