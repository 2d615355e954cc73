/**
 * The environment file every scheduled job is started with (`--env-file`):
 * which variables the config needs, where the file lives by default, and
 * creating it (mode 0600, commented placeholders) without ever overwriting one.
 * Test seam: SQLBAK_SYSTEM_ENV_FILE replaces the system default /etc/sqlbak/env.
 */
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { ResolvedConfig } from "../config/index.ts";
import { fsErrorMessage, OperationError } from "../model/index.ts";
import { readEnvFile } from "../system/index.ts";

export interface NeededVar {
  name: string;
  /** The config key that names it (or the S3 default it stands for). */
  key: string;
  /** Not needed for the job to work (an S3 session token). */
  optional: boolean;
}

/** Every variable the config reads a secret from: passphrase, ntfy token, S3 credentials (named or default). */
export function neededEnvVars(config: ResolvedConfig): NeededVar[] {
  const out: NeededVar[] = [];
  const add = (name: string, key: string, optional = false) => {
    if (!out.some((v) => v.name === name)) out.push({ name, key, optional });
  };
  for (const v of config.secretVars) add(v.name, v.key, v.key.endsWith(".session_token_env"));
  // S3 destinations fall back to the AWS_* names when the config names none.
  config.destinations.forEach((d, i) => {
    if (d.type !== "s3") return;
    add(d.accessKeyIdEnv, `destination[${i}].access_key_id_env`);
    add(d.secretAccessKeyEnv, `destination[${i}].secret_access_key_env`);
    add(d.sessionTokenEnv, `destination[${i}].session_token_env (only for temporary credentials)`, true);
  });
  return out;
}

/** /etc/sqlbak/env for system schedules, $XDG_CONFIG_HOME/sqlbak/env for the user's. */
export function defaultEnvFile(system: boolean, env: NodeJS.ProcessEnv): string {
  if (system) return env.SQLBAK_SYSTEM_ENV_FILE || "/etc/sqlbak/env";
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config"), "sqlbak", "env");
}

/** The placeholder file: a header, then `#NAME=` under a comment naming the config key. */
export function envFileTemplate(needed: NeededVar[]): string {
  const lines = [
    "# Environment for sqlbak's scheduled jobs: one KEY=value a line, no expansion;",
    "# a value may be wholly in '...' or \"...\". Keep this file mode 0600.",
    "# Written once by `sqlbak install-schedule --apply`, which never overwrites it.",
  ];
  for (const v of needed) lines.push("", `# ${v.key}`, `#${v.name}=`);
  return `${lines.join("\n")}\n`;
}

/**
 * Creates `path` with the placeholders unless something is already there:
 * written to a temp file (0600, fsynced) then link()ed into place, so an
 * existing file is never replaced, even by a concurrent run. Returns whether it created it.
 */
export function createEnvFile(path: string, needed: NeededVar[]): boolean {
  if (existsSync(path)) return false;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, "wx", 0o600);
    try {
      writeSync(fd, envFileTemplate(needed));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
    const dfd = openSync(dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    return true;
  } catch (err) {
    throw new OperationError(fsErrorMessage(err, "create environment file", path));
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The needed variables set (non-empty) neither in `env` nor in the file at `path` (when it exists). */
export function missingEnvVars(needed: NeededVar[], env: NodeJS.ProcessEnv, path: string): NeededVar[] {
  const file = existsSync(path) ? readEnvFile(path) : new Map<string, string>();
  return needed.filter((v) => !v.optional && !env[v.name] && !file.get(v.name));
}
