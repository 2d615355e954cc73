/** The completion model of every registered command, read from the same definitions `--help` uses. */
import type { CommandDef } from "citty";
import { type ArgDefLike, type CommandSpec, describeCommand, type ManCommand } from "../lib/output/index.ts";

async function resolve<T>(value: T | Promise<T> | (() => T | Promise<T>)): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

/** Any command: CommandDef is invariant in its arguments, and each command has its own. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type AnyCommand = CommandDef<any>;

/** Name → lazy loader, as in index.ts. */
export type CommandLoaders = Record<string, () => Promise<AnyCommand>>;

/**
 * Loads every command of `commands` (evaluating no side effects: command
 * modules have none) and describes it. The map is handed in, not imported:
 * the completion command is itself one of the commands it describes.
 */
export async function loadCommandTree(commands: CommandLoaders): Promise<CommandSpec[]> {
  const specs: CommandSpec[] = [];
  for (const [name, load] of Object.entries(commands)) {
    const def: AnyCommand = await load();
    const meta = (await resolve(def.meta)) ?? {};
    const args = ((await resolve(def.args)) ?? {}) as Record<string, ArgDefLike>;
    specs.push(describeCommand(name, meta.description ?? "", args));
  }
  return specs;
}

/** Every registered command's name, description and raw arg definitions, for the man page. */
export async function loadCommandDefs(commands: CommandLoaders): Promise<ManCommand[]> {
  const defs: ManCommand[] = [];
  for (const [name, load] of Object.entries(commands)) {
    const def: AnyCommand = await load();
    const meta = (await resolve(def.meta)) ?? {};
    defs.push({
      name,
      description: meta.description ?? "",
      args: ((await resolve(def.args)) ?? {}) as ManCommand["args"],
    });
  }
  return defs;
}
