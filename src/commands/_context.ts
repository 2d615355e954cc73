/** What every command starts from: log level set, config resolved. */
import { loadConfig, type ResolvedConfig } from "../lib/config/index.ts";
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

/** Writes data to stdout: JSON when asked, text otherwise. */
export function printData(ctx: CommandContext, json: unknown, text: () => string): void {
  process.stdout.write(ctx.json ? `${JSON.stringify(json, null, 2)}\n` : `${text()}\n`);
}
