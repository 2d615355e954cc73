/**
 * Regenerates man/sqlbak.1 from the command definitions: `bun run man`. Run it
 * after adding or changing a command or flag; test/e2e/man.test.ts fails until then.
 */
import { join } from "node:path";
import { renderManPage } from "../src/lib/output/index.ts";
import { manPageInput } from "./input.ts";

const file = join(import.meta.dir, "sqlbak.1");
await Bun.write(file, renderManPage(await manPageInput()));
console.error(`wrote ${file}`);
