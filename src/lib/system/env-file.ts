/**
 * The environment file (`--env-file PATH` or the `env_file` config key): plain
 * `KEY=value` lines that fill in the variables a scheduled job would otherwise
 * lack (passphrases, tokens, S3 credentials). It holds secrets, so it is refused
 * unless it is a regular file, owned by the running user and unreadable by
 * anyone else. See docs/env-file.md.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { EXIT, fsErrorMessage, SqlbakError } from "../model/index.ts";

/** Far more than any list of credentials; a bigger file is not what the user meant. */
export const MAX_ENV_FILE_BYTES = 64 * 1024;

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A problem with the environment file: exit 2, like every config problem. */
export class EnvFileError extends SqlbakError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.usage, hint });
  }
}

/**
 * Given the file's text, returns its variables in order; throws EnvFileError
 * naming the first bad line (never its value).
 */
export function parseEnvFile(text: string, path: string): Map<string, string> {
  const vars = new Map<string, string>();
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const at = `${path}:${i + 1}`;
    const eq = line.indexOf("=");
    if (eq < 0)
      throw new EnvFileError(
        `${at}: expected KEY=value`,
        "one variable per line; blank lines and lines starting with # are ignored",
      );
    const key = line.slice(0, eq).trim();
    if (!KEY_RE.test(key))
      throw new EnvFileError(
        `${at}: the part before "=" is not a variable name (letters, digits, _; not starting with a digit)`,
      );
    let value = line.slice(eq + 1);
    const q = value[0];
    if (q === "'" || q === '"') {
      if (value.length < 2 || !value.endsWith(q) || value.slice(1, -1).includes(q)) {
        throw new EnvFileError(`${at}: ${key}: a quoted value must be wholly inside one pair of ${q} quotes`);
      }
      value = value.slice(1, -1);
    }
    vars.set(key, value);
  });
  return vars;
}

/**
 * Opens `path`, checks the open file (regular, owned by the effective user,
 * no group/other permission bits, under 64 KiB) and parses it. Throws
 * EnvFileError (exit 2) with the fix when any check fails.
 */
export function readEnvFile(path: string): Map<string, string> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new EnvFileError(fsErrorMessage(err, "open environment file", path));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new EnvFileError(`${path}: environment file is not a regular file`);
    const euid = process.geteuid?.();
    if (euid !== undefined && st.uid !== euid) {
      throw new EnvFileError(
        `${path}: environment file is owned by uid ${st.uid}, not by the user running sqlbak (uid ${euid}); ` +
          "refusing it",
        `chown ${euid} '${path}' (it holds secrets: only its user may own it)`,
      );
    }
    // Windows has no POSIX mode bits (Node reports 0666 for every file); its ACLs guard the file there.
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
      throw new EnvFileError(
        `${path}: environment file has mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}; ` +
          "group or others may read it, refusing it",
        `chmod 600 '${path}'`,
      );
    }
    if (st.size >= MAX_ENV_FILE_BYTES)
      throw new EnvFileError(`${path}: environment file is ${st.size} bytes; the limit is ${MAX_ENV_FILE_BYTES - 1}`);
    const buf = Buffer.alloc(MAX_ENV_FILE_BYTES);
    let len = 0;
    // biome-ignore lint/suspicious/noAssignInExpressions: read until full or end of file
    for (let n; len < buf.length && (n = readSync(fd, buf, len, buf.length - len, null)) > 0; ) len += n;
    if (len >= MAX_ENV_FILE_BYTES)
      throw new EnvFileError(`${path}: environment file is larger than ${MAX_ENV_FILE_BYTES - 1} bytes`);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, len));
    } catch {
      throw new EnvFileError(`${path}: environment file is not valid UTF-8 text`);
    }
    return parseEnvFile(text, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Fills `env` from the file: a variable already set to a non-empty value in the
 * environment wins; the file supplies the rest. Returns the names it set.
 * With `missingOk`, a file that does not exist (yet) sets nothing.
 */
export function applyEnvFile(path: string, env: NodeJS.ProcessEnv, missingOk = false): string[] {
  const set: string[] = [];
  if (missingOk && !existsSync(path)) return set;
  for (const [k, v] of readEnvFile(path)) {
    if (env[k]) continue;
    env[k] = v;
    set.push(k);
  }
  return set;
}
