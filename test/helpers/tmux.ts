/**
 * Drives an interactive command in a real terminal: a tmux server on its own
 * socket (so it never touches the developer's sessions), killed afterwards.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";

export class TmuxSession {
  readonly socket = `sqlbak-test-${process.pid}-${randomBytes(3).toString("hex")}`;

  private tmux(...args: string[]): string {
    const r = Bun.spawnSync(["tmux", "-L", this.socket, ...args], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr.toString()}`);
    return r.stdout.toString();
  }

  /** Starts `command` (a shell line) in a 200x50 terminal. */
  start(command: string): void {
    this.tmux("new-session", "-d", "-s", "t", "-x", "200", "-y", "50", command);
  }

  /**
   * Starts `command` as `start` does, with everything the terminal receives appended to `logPath`
   * (`pipe-pane`) from its first byte on: lines a program draws and erases (progress) stay in the log.
   */
  startRecorded(command: string, logPath: string): void {
    // The command waits for a line, so nothing is written before the pipe is in place.
    this.start(`read -r _; ${command}`);
    this.tmux("pipe-pane", "-o", "-t", "t", `cat >> '${logPath}'`);
    this.send("Enter");
  }

  screen(): string {
    return this.tmux("capture-pane", "-p", "-t", "t");
  }

  /** The screen with its colours as escape codes (`capture-pane -e`). */
  screenWithEscapes(): string {
    return this.tmux("capture-pane", "-p", "-e", "-t", "t");
  }

  /** Waits until the screen shows `text`; throws with the screen after `timeoutMs`. */
  async waitFor(text: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (screen.includes(text)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}; screen:\n${screen}`);
      await Bun.sleep(50);
    }
  }

  /** Sends tmux key names (`Enter`, `Down`, `Escape`, `C-c`) or literal text. */
  send(...keys: string[]): void {
    this.tmux("send-keys", "-t", "t", ...keys);
  }

  /** Kills the server and removes its socket file (tmux leaves it behind). */
  kill(): void {
    Bun.spawnSync(["tmux", "-L", this.socket, "kill-server"]);
    const dir = join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${process.getuid?.() ?? 0}`);
    rmSync(join(dir, this.socket), { force: true });
  }
}
