/** The completion model of every registered command, read from the same definitions `--help` uses. */
import type { CommandDef } from "citty";
import { type ArgDefLike, type CommandSpec, describeCommand } from "../lib/completion.ts";
import { commands } from "./index.ts";

async function resolve<T>(value: T | Promise<T> | (() => T | Promise<T>)): Promise<T> {
  return typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;
}

/** Loads every command in index.ts (evaluating no side effects: command modules have none) and describes it. */
export async function loadCommandTree(): Promise<CommandSpec[]> {
  const specs: CommandSpec[] = [];
  for (const [name, load] of Object.entries(commands)) {
    const def: CommandDef<any> = await load();
    const meta = (await resolve(def.meta)) ?? {};
    const args = ((await resolve(def.args)) ?? {}) as Record<string, ArgDefLike>;
    specs.push(describeCommand(name, meta.description ?? "", args));
  }
  return specs;
}
