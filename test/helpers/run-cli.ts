/**
 * Runs the compiled binary (dist/sqlbak, or $SQLBAK_BIN) as a user would.
 * The suite is run by scripts/test.sh, which builds the binary first.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const BIN = resolve(process.env.SQLBAK_BIN ?? join(import.meta.dir, "../../dist/sqlbak"));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Run as another user (argv prefix such as setpriv). */
  prefix?: string[];
}

/** Environment with nothing from the developer's own sqlbak setup leaking in. */
export function cleanEnv(extra: Record<string, string | undefined> = {}, home?: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SQLBAK_")) env[k] = v;
  if (home) {
    env.HOME = home;
    env.XDG_CONFIG_HOME = join(home, ".config");
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export async function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  if (!existsSync(BIN)) throw new Error(`compiled binary not found at ${BIN}; run \`bun run build\` first`);
  const proc = Bun.spawn([...(opts.prefix ?? []), BIN, ...args], {
    cwd: opts.cwd,
    env: cleanEnv(opts.env, opts.cwd),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}
