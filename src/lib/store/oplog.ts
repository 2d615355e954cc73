/**
 * The operation log: one JSON object per line and per operation, appended to
 * `<backup_dir>/sqlbak.log.jsonl` (or `log_file`). It is separate from any
 * application log, so `stats` and people can read sqlbak's history alone.
 * It is capped: past MAX_LOG_BYTES it is renamed to `<file>.1` (replacing the
 * previous one) and a new file starts, so at most twice the cap is kept.
 * Writing it never fails an operation: a failure is returned for a warning.
 */
import { appendFileSync, readFileSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { describeError } from "../model/index.ts";
import { ensureDir, FILE_MODE } from "../system/index.ts";

/** About 40,000 entries: years of history for a few databases backed up hourly. */
export const MAX_LOG_BYTES = 10 * 1024 * 1024;

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

export interface LoggedEntry extends OpLogEntry {
  ts: string;
  pid: number;
}

function rollIfFull(logFile: string, maxBytes: number): void {
  try {
    if (statSync(logFile).size < maxBytes) return;
    renameSync(logFile, `${logFile}.1`);
  } catch {
    // no log yet, or another run rolled it first: either way, append below
  }
}

/** Appends one entry (with `ts` and `pid`); returns an error message instead of throwing. */
export function appendOpLog(logFile: string, entry: OpLogEntry, maxBytes = MAX_LOG_BYTES): string | null {
  const line = `${JSON.stringify({ ts: new Date().toISOString(), pid: process.pid, ...entry })}\n`;
  try {
    ensureDir(dirname(logFile));
    rollIfFull(logFile, maxBytes);
    // One write() with O_APPEND: lines from concurrent runs never interleave.
    appendFileSync(logFile, line, { mode: FILE_MODE });
    return null;
  } catch (err) {
    return `could not write operation log ${logFile}: ${describeError(err)}`;
  }
}

/** Reads the log (rolled file first, so oldest first); skips lines that are not entries. */
export function readOpLog(logFile: string): LoggedEntry[] {
  const entries: LoggedEntry[] = [];
  for (const path of [`${logFile}.1`, logFile]) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as LoggedEntry;
        if (e && typeof e.op === "string" && typeof e.ts === "string") entries.push(e);
      } catch {
        // a torn last line after a crash: ignore it
      }
    }
  }
  return entries;
}
