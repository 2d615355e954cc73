/**
 * A one-line progress display on stderr for long backups, shown only on a TTY
 * (cron and pipes get results only).
 */
import { formatBytes } from "../lib/model/index.ts";

/** Below this a backup is over before progress would be worth reading. */
const PROGRESS_MIN_BYTES = 64 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 250;

export function createProgress(enabled: boolean) {
  let lastDraw = 0;
  let drawn = false;
  return {
    update(label: string, done: number, total: number) {
      if (!enabled || total < PROGRESS_MIN_BYTES) return;
      const now = Date.now();
      if (now - lastDraw < PROGRESS_INTERVAL_MS && done < total) return;
      lastDraw = now;
      drawn = true;
      const pct = Math.min(100, Math.floor((done / total) * 100));
      process.stderr.write(`\r\x1b[2K${label}: ${pct}% of ${formatBytes(total)}`);
    },
    done() {
      if (drawn) process.stderr.write("\r\x1b[2K");
      drawn = false;
    },
  };
}
