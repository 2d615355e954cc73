/**
 * A one-line progress display on stderr for long backups, verifications,
 * restores, downloads and copies to destinations, shown only on a TTY and
 * without --json / --quiet (cron, pipes and log files get results only).
 * What is drawn and when: docs/commands.md#progress.
 */
import { formatBytes, type ProgressFn } from "../lib/model/index.ts";
import type { CommandContext } from "./_context.ts";

/** Below this a step is over before progress would be worth reading, unless it is slow (a remote link). */
const PROGRESS_MIN_BYTES = 64 * 1024 * 1024;
/** A step smaller than PROGRESS_MIN_BYTES still shows its progress once it has run this long. */
const PROGRESS_SLOW_MS = 1000;
const PROGRESS_INTERVAL_MS = 250;

export interface Progress {
  /** Lib's progress callback: `done` of `total` bytes of the step named `label`. */
  update: ProgressFn;
  /** Clears the line (before a log line, and at the end); the next update draws it again. */
  done(): void;
}

export function createProgress(enabled: boolean): Progress {
  let lastDraw = 0;
  let drawn = false;
  let lastLine = "";
  // When each step was first heard of (parallel backups interleave their steps).
  const started = new Map<string, number>();
  return {
    update(label, done, total) {
      if (!enabled) return;
      const now = Date.now();
      if (!started.has(label)) started.set(label, now);
      if (total < PROGRESS_MIN_BYTES && now - started.get(label)! < PROGRESS_SLOW_MS) return;
      if (now - lastDraw < PROGRESS_INTERVAL_MS && done < total) return;
      const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
      const line = `${label}: ${pct}% of ${formatBytes(total)}`;
      if (drawn && line === lastLine) return;
      [lastDraw, drawn, lastLine] = [now, true, line];
      // Wider than the terminal it would wrap, and \r would then clear only its last row.
      const width = process.stderr.columns ? process.stderr.columns - 1 : line.length;
      process.stderr.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    },
    done() {
      if (drawn) process.stderr.write("\r\x1b[2K");
      drawn = false;
    },
  };
}

/**
 * The progress display of a command: on when stderr is a terminal and neither --json nor --quiet
 * is given. Every line the logger prints erases it first (a step, a warning, a timeout).
 */
export function progressFor(ctx: CommandContext): Progress {
  const progress = createProgress(Boolean(process.stderr.isTTY) && !ctx.quiet && !ctx.json);
  // First of the reporters: consola calls them in order, only for lines its level lets through.
  ctx.logger.options.reporters.unshift({ log: () => progress.done() });
  return progress;
}
