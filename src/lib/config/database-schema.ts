/** One `[[database]]` entry, checked key by key. */
import { CHECK_LEVELS, COMPRESSIONS, DATABASE_NAME_RE, SNAPSHOT_METHOD_NAMES } from "../model/index.ts";
import { type Checker, type Raw, typeName } from "./checker.ts";
import { type DatabaseEntry, PRE_RESTORE_MODES } from "./config-file.ts";
import { discoveryProblems } from "./discover.ts";
import { checkHooksTable } from "./hooks.ts";
import { checkDatabasePing } from "./ping.ts";
import { checkRetentionTable } from "./retention.ts";

const DB_KEYS = [
  "name",
  "path",
  "glob",
  "folder",
  "probes",
  "check",
  "snapshot_method",
  "incremental",
  "pre_restore",
  "compression",
  "compression_level",
  "max_age",
  "verify_max_age",
  "retention",
  "ping",
  "ping_env",
  "timeout",
  "hooks",
];

export function checkDatabase(c: Checker, raw: unknown, index: number): DatabaseEntry | undefined {
  const prefix = `database[${index}].`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    c.add(`database[${index}]`, `expected a table, got ${typeName(raw)}`);
    return undefined;
  }
  const obj = raw as Raw;
  c.unknownKeys(obj, DB_KEYS, prefix);
  const name = c.string(obj, "name", prefix);
  const glob = c.string(obj, "glob", prefix);
  const folder = c.string(obj, "folder", prefix);
  const given = (["path", "glob", "folder"] as const).filter((k) => obj[k] !== undefined);
  if (given.length > 1) c.add(prefix + given[1]!, `set only one of path, glob and folder (also set: ${given[0]})`);
  const discovers = glob !== undefined || folder !== undefined;
  if (discovers) for (const p of discoveryProblems({ glob, folder, name })) c.add(prefix + p.key, p.what);
  if (!discovers && name !== undefined && !DATABASE_NAME_RE.test(name)) {
    c.add(
      `${prefix}name`,
      `"${name}" is not a safe name (use a-z, 0-9, _ and -, at most 64, starting with a letter or digit)`,
    );
  }
  const path = c.string(obj, "path", prefix);
  if (given.length === 0) c.add(`${prefix}path`, "is required (or glob or folder, to discover the files)");
  let probes: string[] | undefined;
  if (obj.probes !== undefined) {
    if (!Array.isArray(obj.probes) || obj.probes.some((p) => typeof p !== "string" || p.trim() === "")) {
      c.add(`${prefix}probes`, "expected an array of SQL strings");
    } else probes = obj.probes as string[];
  }
  const entry: DatabaseEntry = {
    name,
    path: path ?? "",
    ...(glob !== undefined ? { glob } : {}),
    ...(folder !== undefined ? { folder } : {}),
    probes,
    check: c.oneOf(obj, "check", prefix, CHECK_LEVELS),
    snapshot_method: c.oneOf(obj, "snapshot_method", prefix, SNAPSHOT_METHOD_NAMES),
    incremental: c.boolean(obj, "incremental", prefix),
    pre_restore: c.oneOf(obj, "pre_restore", prefix, PRE_RESTORE_MODES),
    compression: c.oneOf(obj, "compression", prefix, COMPRESSIONS),
    compression_level: c.integer(obj, "compression_level", prefix, 1, 19),
    max_age: c.span(obj, "max_age", prefix),
    verify_max_age: c.span(obj, "verify_max_age", prefix),
    retention: checkRetentionTable(obj.retention, `${prefix}retention`, (k, w) => c.add(k, w)),
    ...checkDatabasePing(obj, prefix, (k, w) => c.add(k, w)),
    timeout: c.span(obj, "timeout", prefix),
    hooks: checkHooksTable(obj.hooks, `${prefix}hooks`, (k, w) => c.add(k, w)),
  };
  return entry;
}
