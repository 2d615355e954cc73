/**
 * Hooks around one database's backup (docs/hooks.md): `before_backup` runs
 * first and, when it fails, the backup is skipped and counts as failed;
 * `after_backup` runs after a backup that worked, `on_error` after one that
 * failed (a failed `before_backup` included). Each is `/bin/sh -c COMMAND` in
 * its own process group, with the event in SQLBAK_* variables and the notify
 * command's environment rule (never a secret); the whole group is killed at
 * the timeout. Every run lands in the op log with the tails of its output.
 */
import type { HookEvent, ResolvedConfig, ResolvedDatabase } from "../config/index.ts";
import { EXIT } from "../model/index.ts";
import { commandEnvironment } from "../notify/index.ts";
import { appendOpLog } from "../store/index.ts";
import { killGroup, trackGroup, untrackGroup } from "../system/index.ts";
import type { BackupOptions, BackupResult } from "./backup-result.ts";

/** Enough of a hook's output to see why it failed, small enough for one op log line. */
export const HOOK_OUTPUT_TAIL_BYTES = 4096;
/**
 * After the shell exits, how long its output may still be read: a command it
 * left in the background can hold the pipes open, and must not hold the backup.
 */
const PIPE_GRACE_MS = 500;

export interface HookRun {
  hook: HookEvent;
  command: string;
  ok: boolean;
  /** The shell's exit code; null when it was killed (timeout). */
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
  /** Why it failed, in one line (`exited 3: first line of stderr`, `timed out after 5000 ms`). */
  error?: string;
}

/** Collects a stream, keeping only its last `max` bytes; `tail()` reads what came so far. */
function tailOf(stream: ReadableStream<Uint8Array>, max: number) {
  let buf = new Uint8Array(0);
  const reader = stream.getReader();
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const joined = new Uint8Array(buf.length + value.length);
        joined.set(buf);
        joined.set(value, buf.length);
        buf = joined.length > max ? joined.slice(joined.length - max) : joined;
      }
    } catch {
      // cancelled after the grace period
    }
  })();
  return {
    done,
    cancel: () => reader.cancel().catch(() => {}),
    tail: () => new TextDecoder().decode(buf),
  };
}

/**
 * Runs one hook command with `vars` (as SQLBAK_<NAME>) and the allowed part
 * of sqlbak's environment. Never throws: the result says ok, or why not.
 */
export async function runHook(
  config: ResolvedConfig,
  hook: HookEvent,
  command: string,
  vars: Record<string, string | number | undefined>,
): Promise<HookRun> {
  const started = Date.now();
  const env = commandEnvironment(
    config.hooks?.env ?? [],
    config.secretVars.map((s) => s.name),
    { hook, ...vars },
  );
  const timeoutMs = config.hooks?.timeoutMs ?? 300_000;
  let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    proc = Bun.spawn(["/bin/sh", "-c", command], {
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    });
  } catch (err) {
    const error = `could not start /bin/sh: ${(err as Error).message}`;
    return { hook, command, ok: false, exitCode: null, timedOut: false, durationMs: 0, stdout: "", stderr: "", error };
  }
  trackGroup(proc.pid);
  const out = tailOf(proc.stdout, HOOK_OUTPUT_TAIL_BYTES);
  const err = tailOf(proc.stderr, HOOK_OUTPUT_TAIL_BYTES);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(proc.pid);
  }, timeoutMs);
  const code = await proc.exited;
  untrackGroup(proc.pid);
  clearTimeout(timer);
  if (timedOut) killGroup(proc.pid); // what the shell left behind, still in its group
  await Promise.race([Promise.all([out.done, err.done]), Bun.sleep(PIPE_GRACE_MS)]);
  out.cancel();
  err.cancel();
  const stdout = out.tail();
  const stderr = err.tail();
  const firstLine = stderr.trim().split("\n")[0];
  const error = timedOut
    ? `timed out after ${timeoutMs} ms`
    : code !== 0
      ? `exited ${proc.signalCode ? `on ${proc.signalCode}` : code}${firstLine ? `: ${firstLine}` : ""}`
      : undefined;
  return {
    hook,
    command,
    ok: error === undefined,
    exitCode: timedOut || proc.signalCode ? null : code,
    timedOut,
    durationMs: Date.now() - started,
    stdout,
    stderr,
    error,
  };
}

function logHook(config: ResolvedConfig, database: string, h: HookRun): string | null {
  return appendOpLog(config.logFile, {
    op: "hook",
    hook: h.hook,
    database,
    ok: h.ok,
    command: h.command,
    exit_code: h.exitCode,
    timed_out: h.timedOut || undefined,
    duration_ms: h.durationMs,
    stdout: h.stdout || undefined,
    stderr: h.stderr || undefined,
    error: h.error,
  });
}

/** The result of a backup that `before_backup` stopped: failed (exit 1), nothing written. */
function skippedResult(db: ResolvedDatabase, opts: BackupOptions, error: string, durationMs: number): BackupResult {
  return {
    database: db.name,
    source: db.path,
    ok: false,
    dryRun: opts.dryRun,
    exitCode: EXIT.failed,
    format: db.incremental ? "pages" : "file",
    durationMs,
    error,
    removedPartials: [],
    notes: [],
    warnings: [],
  };
}

/**
 * Runs `run` (one database's backup) between the database's hooks. A dry run
 * runs none. A failed `before_backup` skips the backup: the result fails with
 * the hook's error (logged as a failed backup too); `after_backup` and
 * `on_error` failing only add a warning, the backup's outcome stands.
 */
export async function withHooks(
  config: ResolvedConfig,
  db: ResolvedDatabase,
  opts: BackupOptions,
  run: () => Promise<BackupResult>,
): Promise<BackupResult> {
  const hooks = db.hooks ?? {};
  if (opts.dryRun || (!hooks.before_backup && !hooks.after_backup && !hooks.on_error)) return run();
  const warnings: string[] = [];
  const base = {
    database: db.name,
    path: db.path,
    kind: opts.kind,
    tags: opts.tags.join(","),
    backup_dir: config.backupDir,
  };
  const hookRun = async (hook: HookEvent, vars: Record<string, string | number | undefined>) => {
    const h = await runHook(config, hook, hooks[hook]!, { ...base, ...vars });
    const logError = logHook(config, db.name, h);
    if (logError) warnings.push(logError);
    return h;
  };
  let result: BackupResult;
  const before = hooks.before_backup ? await hookRun("before_backup", {}) : null;
  if (before && !before.ok) {
    result = skippedResult(db, opts, `before_backup hook failed: ${before.error}; backup skipped`, before.durationMs);
    const logError = appendOpLog(config.logFile, {
      op: "backup",
      database: db.name,
      ok: false,
      kind: opts.kind,
      duration_ms: result.durationMs,
      error: result.error,
    });
    if (logError) warnings.push(logError);
  } else result = await run();
  const vars = {
    id: result.id,
    file: result.dataPath,
    manifest: result.manifestPath,
    raw_size: result.rawSize,
    stored_size: result.storedSize,
    duration_ms: result.durationMs,
  };
  const after = result.ok ? "after_backup" : "on_error";
  if (hooks[after]) {
    const h = await hookRun(after, result.ok ? vars : { ...vars, error: result.error, exit_code: result.exitCode });
    if (!h.ok) warnings.push(`${db.name}: ${after} hook failed: ${h.error}`);
  }
  result.warnings.push(...warnings);
  return result;
}
