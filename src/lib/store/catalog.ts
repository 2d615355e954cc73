/**
 * Which databases a command works on: resolves names and paths from the
 * command line against the config, and lists every database that has backups.
 */
import { existsSync } from "node:fs";
import { adHocDatabase, type ResolvedConfig, type ResolvedDatabase } from "../config/index.ts";
import { suggestCommand, UsageError } from "../model/index.ts";
import type { BackupListing } from "./list.ts";
import { listFolder } from "./local.ts";
import { databasesOnDisk } from "./local-folder.ts";

/** An argument is a path (not a name) when it has a slash or a dot, or names an existing file. */
function looksLikePath(arg: string): boolean {
  return arg.includes("/") || arg.includes("\\") || arg.includes(".") || existsSync(arg);
}

/**
 * Given `backup`'s arguments, return the databases to back up: configured ones
 * by name, any file by path; with no arguments, every configured database.
 * `argv` (the command line after `sqlbak`) is what the hint's suggestion repeats.
 */
export function resolveBackupTargets(
  config: ResolvedConfig,
  args: string[],
  argv: string[] = ["backup"],
): ResolvedDatabase[] {
  if (args.length === 0) {
    if (config.databases.length === 0) {
      throw new UsageError(
        "nothing to back up: no database given and no [[database]] in the config",
        `run \`${suggestCommand(argv, ["path/to/app.db"])}\`, ` +
          `or add [[database]] entries to ${config.file ?? "sqlbak.toml"}`,
      );
    }
    return config.databases;
  }
  const out: ResolvedDatabase[] = [];
  for (const arg of args) {
    const byName = config.databases.find((d) => d.name === arg);
    const db = byName ?? (looksLikePath(arg) ? adHocDatabase(config, arg) : undefined);
    if (!db) throw unknownDatabase(config, arg);
    if (!out.some((d) => d.name === db.name)) out.push(db);
  }
  return out;
}

function unknownDatabase(config: ResolvedConfig, name: string): UsageError {
  const known = knownDatabaseNames(config);
  return new UsageError(
    `unknown database "${name}"`,
    known.length ? `known databases: ${known.join(", ")}` : "no database is configured and none has backups yet",
  );
}

/** Configured database names plus any that have a folder in the backup directory. */
export function knownDatabaseNames(config: ResolvedConfig): string[] {
  return [...new Set([...config.databases.map((d) => d.name), ...databasesOnDisk(config.backupDir)])].sort();
}

/** Listings of every known database, or of the one named (exit 2 if unknown). */
export async function listDatabases(config: ResolvedConfig, name?: string): Promise<BackupListing[]> {
  const known = knownDatabaseNames(config);
  if (name !== undefined && !known.includes(name)) throw unknownDatabase(config, name);
  const out: BackupListing[] = [];
  for (const n of name ? [name] : known) out.push(await listFolder(config.backupDir, n));
  return out;
}
