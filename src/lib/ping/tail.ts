/**
 * The last lines a run said, for a ping's body: the monitor shows them beside
 * the failure, so an admin sees why without logging in. Bounded in bytes, cut
 * at a line, oldest lines dropped first.
 */

/** healthchecks.io keeps up to 100 KB of a body; 10 KB is a screenful of recent lines, and cheap to send. */
export const MAX_PING_BODY_BYTES = 10_000;

export class LogTail {
  private lines: string[] = [];
  private bytes = 0;
  constructor(private readonly maxBytes = MAX_PING_BODY_BYTES) {}

  add(line: string): void {
    for (const l of line.split("\n")) {
      // A single huge line keeps its start: a quarter of the bound in characters fits in bytes.
      const text = Buffer.byteLength(l) + 1 > this.maxBytes ? `${l.slice(0, this.maxBytes / 4)}…` : l;
      this.lines.push(text);
      this.bytes += Buffer.byteLength(text) + 1;
    }
    while (this.bytes > this.maxBytes && this.lines.length > 0)
      this.bytes -= Buffer.byteLength(this.lines.shift()!) + 1;
  }

  text(): string {
    return this.lines.length ? `${this.lines.join("\n")}\n` : "";
  }
}
