/**
 * A real OpenSSH server on 127.0.0.1 for SFTP tests: its own config, a
 * temporary host key and client key, a random free port, logging to stderr
 * (kept for failure messages), run as the current user (root in CI, which
 * needs the privilege-separation folder /run/sshd). Never reaches beyond
 * loopback; `stop()` ends only the server this helper started.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export interface Sshd {
  host: string;
  port: number;
  user: string;
  /** Private key authorized for `user`. */
  keyFile: string;
  /** A key the server does not know, for authentication failures. */
  wrongKeyFile: string;
  /** known_hosts file holding the server's host key (as `[127.0.0.1]:port`). */
  knownHosts: string;
  /** The folder the tests may use as the remote root (absolute); relative remote paths start here. */
  root: string;
  /** SIGKILLs every session process of this server (a dropped connection); the listener stays up. */
  killSessions(): void;
  /** What sshd logged so far (LogLevel VERBOSE), for failure messages. */
  log(): string;
  /** SSH logins accepted so far (one per connection), from the log. */
  logins(): number;
  stop(): Promise<void>;
}

const SSHD_CANDIDATES = ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"];
/** How long the server gets to accept connections before the test gives up. */
const START_TIMEOUT_MS = 10_000;

export function findSshd(): string | null {
  const onPath = Bun.which("sshd", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/usr/local/sbin:/sbin` });
  return onPath ?? SSHD_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** A port that was free a moment ago (the kernel picks it). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function keygen(path: string, comment: string): Promise<void> {
  const proc = Bun.spawn(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], {
    stdout: "ignore",
    stderr: "pipe",
  });
  if ((await proc.exited) !== 0) throw new Error(`ssh-keygen failed: ${await new Response(proc.stderr).text()}`);
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/** Every descendant pid of `pid`, deepest last (read from /proc, so only our own tree). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * Live (not zombie) `ssh` and `sftp` processes of this machine that talk to
 * `port`, as pids: the clients a run must not leave behind.
 */
export function sshClientsOf(port: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      if (comm !== "ssh" && comm !== "sftp") continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args.some((a) => a === String(port) || a.endsWith(`Port=${port}`) || a.endsWith(`Port ${port}`)))
        out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** The login name of this process (os.userInfo() says "unknown" under Bun 1.4 as root). */
export function currentUser(): string {
  const out = Bun.spawnSync(["id", "-un"], { stdout: "pipe", stderr: "ignore" });
  const name = out.stdout.toString().trim();
  if (out.exitCode !== 0 || !name) throw new Error("cannot determine the current user name (id -un)");
  return name;
}

export interface SshdOptions {
  /**
   * RLIMIT_FSIZE for the server: a write past this size kills the session
   * (SIGXFSZ), which cuts an upload off at a known point, deterministically.
   */
  fileSizeLimitBytes?: number;
  /** The sftp subsystem's command instead of internal-sftp (e.g. `/bin/sleep 600`: a server that never answers). */
  subsystem?: string;
}

/** Starts sshd in `dir` (a temp folder the caller removes) and waits until it accepts connections. */
export async function startSshd(dir: string, opts: SshdOptions = {}): Promise<Sshd> {
  const sshd = findSshd();
  if (!sshd) throw new Error("sshd not found: install openssh-server (./install.sh --test-deps)");
  const isRoot = process.getuid?.() === 0;
  if (isRoot && !existsSync("/run/sshd")) mkdirSync("/run/sshd", { mode: 0o755 });
  const user = currentUser();
  const hostKey = join(dir, "host_ed25519");
  const keyFile = join(dir, "client_ed25519");
  const wrongKeyFile = join(dir, "wrong_ed25519");
  await Promise.all([
    keygen(hostKey, "sqlbak-test-host"),
    keygen(keyFile, "sqlbak-test"),
    keygen(wrongKeyFile, "wrong"),
  ]);
  const authorized = join(dir, "authorized_keys");
  writeFileSync(authorized, readFileSync(`${keyFile}.pub`), { mode: 0o600 });
  const root = join(dir, "remote");
  mkdirSync(root, { mode: 0o700 });

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(dir, "sshd_config");
    writeFileSync(
      config,
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${authorized}`,
        "UsePAM no",
        "StrictModes no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        `PermitRootLogin ${isRoot ? "prohibit-password" : "no"}`,
        // Relative remote paths start in `root`, not in the real home folder of the user running the tests.
        `Subsystem sftp ${opts.subsystem ?? `internal-sftp -d ${root}`}`,
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    const limit = opts.fileSizeLimitBytes === undefined ? [] : ["prlimit", `--fsize=${opts.fileSizeLimitBytes}`, "--"];
    const proc = Bun.spawn([...limit, sshd, "-D", "-e", "-f", config], { stdout: "ignore", stderr: "pipe" });
    let log = "";
    const logDone = (async () => {
      for await (const chunk of proc.stderr) log += new TextDecoder().decode(chunk);
    })();
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (proc.exitCode === null && Date.now() < deadline && !(await canConnect(port))) await Bun.sleep(20);
    if (proc.exitCode === null && (await canConnect(port))) {
      writeFileSync(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, "utf8")}`);
      const killSessions = () => {
        for (const pid of descendants(proc.pid).reverse()) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      };
      return {
        host: "127.0.0.1",
        port,
        user,
        keyFile,
        wrongKeyFile,
        knownHosts: join(dir, "known_hosts"),
        root,
        killSessions,
        log: () => log,
        logins: () => log.match(/^Accepted publickey for /gm)?.length ?? 0,
        async stop() {
          killSessions();
          proc.kill("SIGTERM");
          await proc.exited;
          await logDone;
        },
      };
    }
    proc.kill("SIGKILL");
    await proc.exited;
    await logDone;
    // Another process may have taken the port between freePort() and bind: try again.
    if (attempt >= 3 || !/Address already in use/.test(log)) throw new Error(`sshd did not start:\n${log}`);
  }
}
