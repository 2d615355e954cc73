import { defineCommand } from "citty";
import { commands } from "./commands/index.ts";
import { SQLBAK_VERSION } from "./lib/system/index.ts";

export const main = defineCommand({
  meta: {
    name: "sqlbak",
    version: SQLBAK_VERSION,
    description: "Consistent online backups of live SQLite databases",
  },
  subCommands: commands,
});

export const EXIT_CODE_HELP = `EXIT CODES
  0  success
  1  an operation failed (details on stderr)
  2  usage or configuration error
  3  a health check or verification found a problem
  4  locked by another sqlbak run
  5  the run hit its timeout and was stopped`;
