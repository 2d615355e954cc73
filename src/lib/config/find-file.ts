/** Which config file is used: the lookup order of docs/configuration.md. */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "../model/index.ts";

/** The config file to use, in the lookup order of docs/configuration.md; null when there is none. */
export function findConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string | null {
  const given = explicit ?? env.SQLBAK_CONFIG;
  if (given) {
    const path = resolve(cwd, given);
    if (!existsSync(path)) throw new ConfigError([`${path}: config file not found`]);
    return path;
  }
  const xdg = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  const candidates = [join(cwd, "sqlbak.toml"), join(xdg, "sqlbak", "config.toml"), "/etc/sqlbak/config.toml"];
  return candidates.find((p) => existsSync(p)) ?? null;
}
