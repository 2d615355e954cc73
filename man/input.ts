/** The man page's model, read from the same definitions `--help` uses (shared by generate.ts and its test). */
import { loadCommandDefs } from "../src/commands/_command-tree.ts";
import { commands } from "../src/commands/index.ts";
import { type ManPageInput, parseExitCodes } from "../src/lib/output/index.ts";
import { EXIT_CODE_HELP, main } from "../src/main.ts";

export async function manPageInput(): Promise<ManPageInput> {
  const meta = typeof main.meta === "function" ? await main.meta() : await main.meta;
  return {
    version: meta?.version ?? "",
    description: meta?.description ?? "",
    commands: await loadCommandDefs(commands),
    exitCodes: parseExitCodes(EXIT_CODE_HELP),
  };
}
