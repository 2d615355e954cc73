/**
 * The hook every backup, verify, rotate, restore and health run ends with: rewrite
 * `metrics_file` (when configured) with the state after the run. It runs as the
 * command's citty `cleanup`, so it also runs when the run failed; it never
 * changes the exit code (a failure to write is a warning).
 */
import { IDENTITY_ENV } from "../lib/codec/index.ts";
import type { ResolvedConfig } from "../lib/config/index.ts";
import { refreshMetricsFile } from "../lib/output/index.ts";
import { openContext } from "./_context.ts";
import { logger } from "./_log.ts";

type RunArgs = Parameters<typeof openContext>[0] & { "dry-run"?: boolean };

/** The `cleanup` of a command: a dry run changed nothing, so it writes nothing either. */
export async function writeMetricsAfterRun({ args }: { args: RunArgs }): Promise<void> {
  if (args["dry-run"]) return;
  let config: ResolvedConfig;
  try {
    config = openContext(args).config;
  } catch {
    return; // the run already reported why the config does not load
  }
  const warning = await refreshMetricsFile(config, Boolean(process.env[IDENTITY_ENV]));
  if (warning) logger.warn(warning);
}
