/**
 * Runs the compiled binary until it reaches a named step (src/lib/system/test-pause.ts:
 * SQLBAK_TEST_PAUSE_AT / SQLBAK_TEST_PAUSE_FILE), where it blocks. The test
 * then kills it there with SIGKILL, or resumes it.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BIN, type CliResult, cleanEnv } from "./run-cli.ts";
import { tempDir } from "./tmp.ts";

export interface PausedRun {
  /** kill -9 at the step; resolves when the process is gone. */
  kill(): Promise<void>;
  /** Lets it go on; resolves with its outcome. */
  resume(): Promise<CliResult>;
}

/**
 * Starts `sqlbak args` in `cwd` and resolves once it blocks at `step` (`name` or `name@n`); throws if it ends first.
 */
export async function runUntil(step: string, args: string[], cwd: string): Promise<PausedRun> {
  const marker = join(tempDir("sqlbak-pause-"), "paused");
  const proc = Bun.spawn([BIN, ...args], {
    cwd,
    env: cleanEnv({ SQLBAK_TEST_PAUSE_AT: step, SQLBAK_TEST_PAUSE_FILE: marker }, cwd),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stdout = new Response(proc.stdout).text();
  const stderr = new Response(proc.stderr).text();
  let ended = false;
  void proc.exited.then(() => (ended = true));
  while (!existsSync(marker)) {
    if (ended)
      throw new Error(
        `sqlbak ${args.join(" ")} ended (exit ${proc.exitCode}) before reaching ${step}: ${await stderr}`,
      );
    await Bun.sleep(5);
  }
  return {
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
      rmSync(marker, { force: true });
    },
    async resume() {
      rmSync(marker, { force: true });
      const [out, err, code] = await Promise.all([stdout, stderr, proc.exited]);
      return { code, stdout: out, stderr: err };
    },
  };
}
