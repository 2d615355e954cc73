import { defineCommand } from "citty";
import { UsageError } from "../lib/model/index.ts";
import { renderCompletion, SHELLS, type Shell } from "../lib/output/index.ts";
import { type CommandLoaders, loadCommandTree } from "./_command-tree.ts";

/** What cli.ts hands every command as citty's `data`: the command map, which this command describes. */
export interface CommandData {
  commands: CommandLoaders;
}

export default defineCommand({
  meta: { name: "completion", description: "Print the shell completion script for bash, zsh or fish" },
  args: {
    shell: { type: "positional", required: true, description: "Shell to complete for", valueHint: SHELLS.join("|") },
  },
  async run({ args, data }) {
    const shell = args.shell as Shell;
    if (!SHELLS.includes(shell))
      throw new UsageError(`unknown shell "${args.shell}"`, `choose one of ${SHELLS.join(", ")}`);
    process.stdout.write(renderCompletion(shell, await loadCommandTree((data as CommandData).commands)));
  },
});
