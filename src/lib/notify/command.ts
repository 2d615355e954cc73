/**
 * The command channel: `/bin/sh -c <command>` with the event in SQLBAK_*
 * variables and an environment cut down to the ordinary variables and the
 * ones the admin lists, never a secret.
 */
import type { CommandChannel } from "../config/index.ts";
import type { Notification } from "./event.ts";
import type { SendContext } from "./secret.ts";

/** Environment for the command hook: every field as SQLBAK_<FIELD> (lists of text by newlines, others as JSON). */
export function commandEnv(n: object): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(n)) {
    if (v === undefined) continue;
    env[`SQLBAK_${k.toUpperCase()}`] =
      Array.isArray(v) && v.every((x) => typeof x === "string")
        ? v.join("\n")
        : typeof v === "object"
          ? JSON.stringify(v)
          : String(v);
  }
  return env;
}

/** What any command needs to run and format output; everything else must be listed in `command_env`. */
export const COMMAND_BASE_ENV = ["PATH", "HOME", "LANG", "TZ", "USER", "LOGNAME", "SHELL"];

/**
 * The command's whole environment: the ordinary variables, the listed ones and
 * the event. Never the rest of sqlbak's environment, which holds passphrases,
 * cloud keys and tokens; never a variable the config reads a secret from.
 */
export function commandEnvironment(
  commandEnvNames: string[],
  secretEnv: string[],
  n: object,
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const allowed = new Set([...COMMAND_BASE_ENV, ...commandEnvNames]);
  const secret = new Set(secretEnv);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) {
    if (v === undefined || secret.has(k) || k.startsWith("AWS_")) continue;
    if (allowed.has(k) || k.startsWith("LC_")) env[k] = v;
  }
  return { ...env, ...commandEnv(n) };
}

/** Runs `argv` with `stdin` (or none), failing on a non-zero exit or the timeout; its stdout is ignored. */
export async function runProcess(
  argv: string[],
  env: Record<string, string>,
  stdin: string | null,
  timeoutMs: number,
): Promise<void> {
  const proc = Bun.spawn(argv, {
    env,
    stdin: stdin === null ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "ignore",
    stderr: "pipe",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (proc.signalCode) throw new Error(`timed out after ${timeoutMs} ms`);
  if (code !== 0) throw new Error(`exited ${code}${err.trim() ? `: ${err.trim().split("\n")[0]}` : ""}`);
}

export function sendCommand(ch: CommandChannel, n: Notification, ctx: SendContext): Promise<void> {
  return runProcess(
    ["/bin/sh", "-c", ch.command],
    commandEnvironment(ch.commandEnv, ctx.secretEnv, n, ctx.env),
    null,
    ctx.timeoutMs,
  );
}
