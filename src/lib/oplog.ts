/**
 * The operation log: one JSON object per line and per operation, appended to
 * `<backup_dir>/sqlbak.log.jsonl` (or `log_file`). It is separate from any
 * application log, so `stats` and people can read sqlbak's history alone.
 * Writing it never fails an operation: a failure is returned for a warning.
 */
import { appendFileSync } from "node:fs";
import { dirname } from "node:path";
import { ensureDir, FILE_MODE } from "./fs.ts";
import { describeError } from "./errors.ts";

export interface OpLogEntry {
  op: string;
  database?: string;
  ok: boolean;
  id?: string;
  file?: string;
  raw_size?: number;
  stored_size?: number;
  duration_ms?: number;
  error?: string;
  [extra: string]: unknown;
}

/** Appends one entry (with `ts` and `pid`); returns an error message instead of throwing. */
export function appendOpLog(logFile: string, entry: OpLogEntry): string | null {
  const line = `${JSON.stringify({ ts: new Date().toISOString(), pid: process.pid, ...entry })}\n`;
  try {
    ensureDir(dirname(logFile));
    // One write() with O_APPEND: lines from concurrent runs never interleave.
    appendFileSync(logFile, line, { mode: FILE_MODE });
    return null;
  } catch (err) {
    return `could not write operation log ${logFile}: ${describeError(err)}`;
  }
}
