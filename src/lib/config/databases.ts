/**
 * The databases a config names: its `[[database]]` entries expanded into one
 * database each (with the names they get), and a database given by path.
 */
import { basename, extname, isAbsolute, resolve } from "node:path";
import { ConfigError, DATABASE_NAME_RE } from "../model/index.ts";
import type { DatabaseEntry } from "./config-file.ts";
import { discoverDatabases } from "./discover.ts";
import { databaseHooks } from "./hooks.ts";
import type { ResolvedConfig, ResolvedDatabase } from "./resolved.ts";

/**
 * The `[[database]]` entries as one database each: a `path` entry as itself, a
 * `glob`/`folder` entry once per file it finds now. Two databases with one name
 * are a problem naming both paths: they would share a backup folder.
 */
export function expandEntries(
  list: DatabaseEntry[],
  baseDir: string,
  problems: string[],
): { entry: DatabaseEntry; index: number; name: string; path: string }[] {
  const out: { entry: DatabaseEntry; index: number; name: string; path: string }[] = [];
  const seen = new Map<string, { index: number; path: string }>();
  list.forEach((entry, index) => {
    const found =
      entry.glob !== undefined || entry.folder !== undefined
        ? discoverDatabases(entry, baseDir, `database[${index}]`, problems)
        : [{ path: resolve(baseDir, entry.path), name: entry.name ?? nameFromPath(entry.path) }];
    for (const { name, path } of found) {
      const prev = seen.get(name);
      if (prev === undefined) {
        seen.set(name, { index, path });
        out.push({ entry, index, name, path });
      } else if (prev.index === index && prev.path !== path) {
        problems.push(
          `database[${index}]: ${prev.path} and ${path} would both be backed up as "${name}"; ` +
            "give the entry a name template that tells them apart",
        );
      } else if (prev.index !== index) {
        problems.push(
          `database[${index}].name: "${name}" is already used by database[${prev.index}] ` +
            `(${prev.path} and ${path} would share one backup folder)`,
        );
      }
    }
  });
  return out;
}

/** Turns a file name into a database name: `My App.db` → `my-app`. */
export function nameFromPath(path: string): string {
  const stem = basename(path, extname(path)).toLowerCase();
  const cleaned = stem
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "")
    .slice(0, 64);
  return cleaned || "db";
}

/**
 * A database given on the command line by path rather than by configured name:
 * it takes the global settings and a name derived from its file name.
 */
export function adHocDatabase(config: ResolvedConfig, path: string, cwd = process.cwd()): ResolvedDatabase {
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  const configured = config.databases.find((d) => d.path === abs);
  if (configured) return configured;
  const name = nameFromPath(abs);
  if (!DATABASE_NAME_RE.test(name)) throw new ConfigError([`cannot derive a safe backup name from ${abs}`]);
  const clash = config.databases.find((d) => d.name === name);
  if (clash) {
    // Two different files must never share one backup folder: rotation and restore would mix them.
    throw new ConfigError([
      `${abs} would be backed up as "${name}", but ${config.file} already uses that name for ${clash.path}; ` +
        "give it its own [[database]] entry with another name",
    ]);
  }
  return {
    name,
    path: abs,
    probes: [],
    check: config.check,
    snapshotMethod: config.snapshotMethod,
    incremental: config.incremental,
    preRestore: config.preRestore,
    compression: config.compression,
    compressionLevel: config.compressionLevel,
    maxAgeMs: config.maxAgeMs,
    verifyMaxAgeMs: config.verifyMaxAgeMs,
    retention: config.retention,
    ...databaseHooks(config.hooks?.global ?? {}, undefined),
  };
}
