/**
 * One long-lived `sftp -b -` (one SSH connection) that runs batch after batch
 * (docs/destinations.md, _Connections_). Commands go to its stdin; sftp echoes
 * each as `sftp> <line>` on stdout before running it and reports failures on
 * stderr. After each batch a sentinel line follows, `-lcd` to a folder that
 * never exists inside a private temp folder, with a fresh nonce: its echo on
 * stdout and its complaint on stderr mark the end of the batch on both
 * streams, so everything before them is that batch's output.
 *
 * Batches should prefix their commands with `-` (go on after a failure) and
 * read the failure from stderr: a command without it ends sftp when it fails,
 * which is reported like a broken connection, and the next batch reconnects
 * (a connection that could not be made at all is not retried before close()).
 * sftp runs in its own process group, which close() ends; sqlbak's exit,
 * SIGINT and SIGTERM kill it too (system/child-groups.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killGroup, trackGroup, untrackGroup } from "../system/index.ts";
import { type BatchResult, quoteArg, type SftpTarget, sftpArgv } from "./sftp-batch.ts";

/** How long close() waits for sftp to quit after its stdin ended, before killing it. */
const CLOSE_GRACE_MS = 5_000;

interface Live {
  proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  out: string;
  err: string;
  /** Both streams read to their end and the exit code known. */
  ended: Promise<number>;
  /** Resolves the wait of the batch running now: called after each chunk read, and at the end. */
  waiter: (() => void) | null;
  code: number | null;
}

let nonceSeq = 0;

/**
 * sftp's environment: `ls` prints times in UTC with English month names
 * (sftp-batch.ts, parseLs). An LC_ALL would override LC_TIME, so its value
 * moves to LC_CTYPE, which keeps how names are printed.
 */
function sftpEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, TZ: "UTC", LC_TIME: "C" };
  if (env.LC_ALL) {
    env.LC_CTYPE = env.LC_ALL;
    delete env.LC_ALL;
  }
  return env;
}

async function pump(stream: ReadableStream<Uint8Array>, add: (s: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  add(decoder.decode());
}

/** Cuts `text` before the line holding `nonce`, once that line is complete: [before, after]. */
function cutAt(text: string, nonce: string): [string, string] | null {
  const at = text.indexOf(nonce);
  if (at < 0) return null;
  const end = text.indexOf("\n", at);
  if (end < 0) return null;
  const start = text.lastIndexOf("\n", at) + 1;
  return [text.slice(0, start), text.slice(end + 1)];
}

export class SftpSession {
  private live: Live | null = null;
  private dir: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private refused: BatchResult | null = null;
  /** SSH connections started (one per run unless a connection breaks). */
  connections = 0;

  constructor(private readonly target: SftpTarget) {}

  /** Runs one batch, after the ones already queued. Throws only when `sftp` cannot be started at all. */
  run(lines: string[]): Promise<BatchResult> {
    const next = this.queue.then(() => this.runNow(lines));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** A fresh path in the session's private temp folder (removed by close()), for files read and dropped at once. */
  scratchPath(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), "sqlbak-sftp-"));
    return join(this.dir, `scratch-${++nonceSeq}`);
  }

  private start(): Live {
    this.dir ??= mkdtempSync(join(tmpdir(), "sqlbak-sftp-"));
    let proc: Live["proc"];
    try {
      proc = Bun.spawn(sftpArgv(this.target), {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        detached: true,
        env: sftpEnv(),
      });
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
      throw new Error(missing ? "the OpenSSH sftp client is not installed (Debian: openssh-client)" : String(err));
    }
    this.connections++;
    trackGroup(proc.pid);
    const live: Live = { proc, out: "", err: "", code: null, waiter: null, ended: Promise.resolve(0) };
    const wake = () => {
      const w = live.waiter;
      live.waiter = null;
      w?.();
    };
    const pumps = Promise.all([
      pump(proc.stdout, (s) => {
        live.out += s;
        wake();
      }),
      pump(proc.stderr, (s) => {
        live.err += s;
        wake();
      }),
    ]);
    live.ended = Promise.all([pumps, proc.exited]).then(([, code]) => {
      live.code = code;
      untrackGroup(proc.pid);
      killGroup(proc.pid); // an ssh that outlived its sftp
      if (this.live === live) this.live = null;
      wake();
      return code;
    });
    return live;
  }

  private async runNow(lines: string[]): Promise<BatchResult> {
    // A connection that could not be made (authentication, host key, refused) is not tried again until close():
    // every batch of the run reports that failure, and the server sees one attempt.
    if (this.refused) return this.refused;
    if (!this.live) {
      // An empty batch first: what ssh says while connecting (a banner, a note) is nobody's complaint,
      // and a connection that fails is reported by the batch that wanted it.
      this.live = this.start();
      const hello = await this.exchange(this.live, []);
      if (hello.code !== 0 || !this.live) {
        this.refused = hello;
        return hello;
      }
    }
    return this.exchange(this.live, lines);
  }

  private async exchange(live: Live, lines: string[]): Promise<BatchResult> {
    const nonce = `sqlbak-${process.pid}-${++nonceSeq}-${Math.random().toString(36).slice(2)}`;
    const sentinel = `-lcd ${quoteArg(join(this.dir!, nonce))}`;
    // A write to an sftp that is gone fails (now or later): its exit below says why.
    try {
      live.proc.stdin.write(`${[...lines, sentinel].join("\n")}\n`);
      void Promise.resolve(live.proc.stdin.flush()).catch(() => undefined);
    } catch {}
    for (;;) {
      const out = cutAt(live.out, nonce);
      const err = out && cutAt(live.err, nonce);
      if (out && err) {
        live.out = out[1];
        live.err = err[1];
        return { code: 0, stdout: out[0], stderr: err[0] };
      }
      if (live.code !== null) {
        const result = { code: live.code, stdout: live.out, stderr: live.err };
        live.out = live.err = "";
        return result;
      }
      await new Promise<void>((resolve) => {
        live.waiter = resolve;
      });
    }
  }

  /** Ends the session: sftp quits at the end of its input (killed if it does not); safe to call twice. */
  async close(): Promise<void> {
    await this.queue;
    const live = this.live;
    this.live = null;
    if (live) {
      try {
        void Promise.resolve(live.proc.stdin.end()).catch(() => undefined);
      } catch {} // already closed
      const timer = setTimeout(() => killGroup(live.proc.pid), CLOSE_GRACE_MS);
      await live.ended;
      clearTimeout(timer);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.refused = null;
  }
}
