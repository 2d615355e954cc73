/**
 * Entry point. Dispatches to the lazily loaded command, and is the only place
 * that turns errors into exit codes: one clear line on stderr (plus advice),
 * the stack only with --verbose. Under --json it also writes the run's one JSON
 * object on stdout, with the error in it when the run failed (docs/json.md).
 */
import { type ArgsDef, renderUsage, runCommand } from "citty";
import type { AnyCommand } from "./commands/_command-tree.ts";
import { jsonRequested, takeJson } from "./commands/_json-out.ts";
import { logger, stderrIsPlain } from "./commands/_log.ts";
import { type CommandName, commands } from "./commands/index.ts";
import { EXIT, RunTimeoutError, SqlbakError, UsageError } from "./lib/model/index.ts";
import { endRun, SQLBAK_VERSION } from "./lib/system/index.ts";
import { EXIT_CODE_HELP, main } from "./main.ts";

const HELP_FLAGS = ["--help", "-h"];

/** Help on stdout: colours only for a terminal, so `sqlbak --help | less` and man-page tools get plain text. */
function printHelp(text: string): void {
  const plain = !process.stdout.isTTY || Boolean(process.env.NO_COLOR);
  process.stdout.write(plain ? Bun.stripANSI(text) : text);
}

/** Rejects flags the command does not define, instead of silently ignoring a typo. */
function checkFlags(argsDef: ArgsDef, rawArgs: string[]): void {
  const allowed = new Set<string>();
  for (const [name, def] of Object.entries(argsDef)) {
    if (def.type === "positional") continue;
    allowed.add(`--${name}`);
    if (def.type === "boolean") allowed.add(`--no-${name}`);
    const aliases = "alias" in def && def.alias ? [def.alias].flat() : [];
    for (const a of aliases) allowed.add(a.length === 1 ? `-${a}` : `--${a}`);
  }
  for (const arg of rawArgs) {
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") continue;
    const flag = arg.split("=")[0]!;
    if (!allowed.has(flag))
      throw new UsageError(`unknown option ${flag}`, "see --help for the options of this command");
  }
}

/** Runs the command line; false when it only printed help or the version (no command ran). */
async function dispatch(rawArgs: string[]): Promise<boolean> {
  const [first, ...rest] = rawArgs;
  if (first === undefined || HELP_FLAGS.includes(first)) {
    printHelp(`${await renderUsage(main)}\n\n${EXIT_CODE_HELP}\n`);
    return false;
  }
  if (first === "--version" || first === "-v") {
    process.stdout.write(`${SQLBAK_VERSION}\n`);
    return false;
  }
  if (!(first in commands)) {
    throw new UsageError(`unknown command "${first}"`, `commands: ${Object.keys(commands).join(", ")}`);
  }
  const cmd: AnyCommand = await commands[first as CommandName]();
  if (rest.some((a) => HELP_FLAGS.includes(a))) {
    printHelp(`${await renderUsage(cmd, main)}\n`);
    return false;
  }
  const argsDef = (typeof cmd.args === "function" ? await cmd.args() : await cmd.args) ?? {};
  checkFlags(argsDef, rest);
  await runCommand(cmd, { rawArgs: rest, data: { commands } });
  return true;
}

/**
 * The run's one `--json` object: the command's data (or just the version), plus `error` when it failed.
 * The output module is loaded only here, so a run without --json never loads it for this.
 */
async function writeJson(failure: { err: unknown; exitCode: number } | null): Promise<void> {
  const { errorToJson, jsonOutput } = await import("./lib/output/index.ts");
  const data = takeJson() ?? jsonOutput({});
  const out = failure ? { ...data, error: errorToJson(failure.err, failure.exitCode) } : data;
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

function exitCodeOf(err: unknown): number {
  if (err instanceof SqlbakError) return err.exitCode;
  if (err instanceof Error && err.name === "CLIError") return EXIT.usage;
  return EXIT.failed;
}

function report(err: unknown, verbose: boolean): void {
  const message = err instanceof Error ? err.message : String(err);
  logger.error(message);
  if (err instanceof SqlbakError && err.hint) logger.info(err.hint);
  const known = err instanceof SqlbakError || (err instanceof Error && err.name === "CLIError");
  if (verbose && err instanceof Error && err.stack)
    process.stderr.write(stderrIsPlain ? Bun.stripANSI(`${err.stack}\n`) : `${err.stack}\n`);
  else if (!known) logger.info("this looks like a bug in sqlbak; run again with --verbose for details");
}

const rawArgs = process.argv.slice(2);
const json = jsonRequested(rawArgs);
try {
  if ((await dispatch(rawArgs)) && json) await writeJson(null);
} catch (err) {
  report(err, rawArgs.includes("--verbose"));
  process.exitCode = exitCodeOf(err);
  if (json) await writeJson({ err, exitCode: process.exitCode });
  // A timed-out run was abandoned mid-way (commands/_run-guard.ts): end now, as a kill would, so none of it goes on
  // (the exit kills the run's helper processes, lib/system/child-groups.ts).
  if (err instanceof RunTimeoutError) process.exit(err.exitCode);
}
// What stayed open for the whole run (an SFTP session) closes now.
await endRun();
