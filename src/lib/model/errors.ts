/**
 * Every failure a user can cause or meet is a SqlbakError: a one-line message,
 * optional advice, and the exit code the CLI maps it to (docs/exit-codes.md).
 * The CLI's top-level handler is the only place that turns these into exits.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  unhealthy: 3,
  locked: 4,
  timeout: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class SqlbakError extends Error {
  readonly exitCode: ExitCode;
  readonly hint?: string;
  constructor(message: string, opts: { exitCode?: ExitCode; hint?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? EXIT.failed;
    this.hint = opts.hint;
  }
}

/** Bad flags or arguments. */
export class UsageError extends SqlbakError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.usage, hint });
  }
}

/** One or more problems in a config file; each names the file and the key. */
export class ConfigError extends SqlbakError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `invalid configuration:\n  ${problems.join("\n  ")}`, {
      exitCode: EXIT.usage,
    });
    this.problems = problems;
  }
}

/** Another sqlbak run holds the lock on this database. */
export class LockedError extends SqlbakError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.locked, hint });
  }
}

/**
 * The run hit its `timeout` / `--timeout` and was stopped where it was, as if
 * killed: nothing it left half-done is listed, and the next run cleans it up.
 */
export class RunTimeoutError extends SqlbakError {
  constructor(message: string) {
    super(message, {
      exitCode: EXIT.timeout,
      hint: "raise `timeout` in the config (or --timeout) if the run needs longer",
    });
  }
}

/** An operation ran and failed (missing database, not SQLite, unwritable folder, ...). */
export class OperationError extends SqlbakError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { exitCode: EXIT.failed, ...opts });
  }
}

/**
 * A command finished but not everything succeeded; the details were already
 * printed, this only carries the summary line and the exit code.
 */
export class OutcomeError extends SqlbakError {
  constructor(message: string, exitCode: ExitCode) {
    super(message, { exitCode });
  }
}

/** Best-effort description of any thrown value, for logs and results. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Turns a Node/Bun fs error into a readable sentence about `path`. */
export function fsErrorMessage(err: unknown, action: string, path: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOSPC: "no space left on device",
    ENOTDIR: "a parent is not a directory",
    EISDIR: "is a directory",
    EDQUOT: "disk quota exceeded",
  };
  return `cannot ${action} ${path}: ${(code && why[code]) ?? describeError(err)}`;
}
