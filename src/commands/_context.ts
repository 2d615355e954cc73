/** What every command starts from: log level set, config resolved. */
import { loadConfig, type ResolvedConfig } from "../lib/config/index.ts";
import { type JsonFields, jsonOutput } from "../lib/output/index.ts";
import { holdJson } from "./_json-out.ts";
import { logger, setLogLevel } from "./_log.ts";

export interface CommandContext {
  config: ResolvedConfig;
  json: boolean;
  quiet: boolean;
  logger: typeof logger;
}

export function openContext(
  args: {
    config?: string;
    "backup-dir"?: string;
    "env-file"?: string;
    json?: boolean;
    quiet?: boolean;
    verbose?: boolean;
  },
  opts: { envFileMayBeMissing?: boolean } = {},
): CommandContext {
  setLogLevel(args);
  const config = loadConfig({
    configPath: args.config,
    backupDir: args["backup-dir"],
    envFile: args["env-file"],
    envFileMayBeMissing: opts.envFileMayBeMissing,
  });
  logger.debug(`config: ${config.file ?? "none (defaults)"}; backup_dir: ${config.backupDir}`);
  return { config, json: Boolean(args.json), quiet: Boolean(args.quiet), logger };
}

/**
 * Data for stdout: with --json, `json` (snake_case keys, lists under a named key) becomes the run's one
 * object behind `"version": 1`, written by cli.ts when the run ends (docs/json.md); else `text()` now.
 */
export function printData(ctx: CommandContext, json: JsonFields, text: () => string): void {
  if (ctx.json) holdJson(jsonOutput(json));
  else process.stdout.write(`${text()}\n`);
}
