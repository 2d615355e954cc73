/**
 * Regenerates completions/sqlbak.{bash,zsh,fish} from the command definitions:
 * `bun completions/generate.ts` (or `bun run completions`). Run it after adding
 * or changing a command or flag; test/e2e/completion.test.ts fails until then.
 */
import { join } from "node:path";
import { loadCommandTree } from "../src/commands/_command-tree.ts";
import { commands } from "../src/commands/index.ts";
import { renderCompletion, SHELLS } from "../src/lib/output/index.ts";

const tree = await loadCommandTree(commands);
for (const shell of SHELLS) {
  const file = join(import.meta.dir, `sqlbak.${shell}`);
  await Bun.write(file, renderCompletion(shell, tree));
  console.error(`wrote ${file}`);
}
