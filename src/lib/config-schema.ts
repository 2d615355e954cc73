/**
 * The shape of a config file, checked key by key. Validation never stops at the
 * first problem: it collects every one, each as "key.path: what is wrong", so a
 * user fixes a file in one pass. Nothing here touches the file system.
 */
import { parseSpanMs } from "./duration.ts";

export const COMPRESSIONS = ["zstd", "gzip", "none"] as const;
export type Compression = (typeof COMPRESSIONS)[number];
export const CHECK_LEVELS = ["none", "quick", "full"] as const;
export type CheckLevel = (typeof CHECK_LEVELS)[number];

/** Database names become file names: lowercase, digits, `_` and `-`, nothing that can leave a folder. */
export const DATABASE_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A config file as written, after validation (paths still relative). */
export interface ConfigFile {
  backup_dir?: string;
  compression?: Compression;
  compression_level?: number;
  check?: CheckLevel;
  lock_timeout?: string;
  log_file?: string;
  database?: DatabaseEntry[];
}

export interface DatabaseEntry {
  name?: string;
  path: string;
  probes?: string[];
  check?: CheckLevel;
  compression?: Compression;
  compression_level?: number;
}

type Raw = Record<string, unknown>;

const TOP_KEYS = ["backup_dir", "compression", "compression_level", "check", "lock_timeout", "log_file", "database"];
const DB_KEYS = ["name", "path", "probes", "check", "compression", "compression_level"];

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (v instanceof Date) return "a date";
  if (typeof v === "object") return "a table";
  return `a ${typeof v}`;
}

class Checker {
  problems: string[] = [];
  add(key: string, what: string) {
    this.problems.push(`${key}: ${what}`);
  }
  unknownKeys(obj: Raw, allowed: string[], prefix: string) {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) this.add(prefix + k, `unknown key (allowed here: ${allowed.join(", ")})`);
    }
  }
  string(obj: Raw, key: string, prefix: string): string | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "") {
      this.add(prefix + key, `expected a non-empty string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }
  oneOf<T extends string>(obj: Raw, key: string, prefix: string, options: readonly T[]): T | undefined {
    const v = this.string(obj, key, prefix);
    if (v === undefined) return undefined;
    if (!options.includes(v as T)) {
      this.add(prefix + key, `"${v}" is not one of ${options.join(" | ")}`);
      return undefined;
    }
    return v as T;
  }
  integer(obj: Raw, key: string, prefix: string, min: number, max: number): number | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.add(prefix + key, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v) ?? typeName(v)}`);
      return undefined;
    }
    return v;
  }
  span(obj: Raw, key: string, prefix: string): string | undefined {
    const v = this.string(obj, key, prefix);
    if (v !== undefined && parseSpanMs(v) === null) {
      this.add(prefix + key, `"${v}" is not a duration (examples: 90s, 15m, 26h, 7d)`);
      return undefined;
    }
    return v;
  }
}

function checkDatabase(c: Checker, raw: unknown, index: number): DatabaseEntry | undefined {
  const prefix = `database[${index}].`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    c.add(`database[${index}]`, `expected a table, got ${typeName(raw)}`);
    return undefined;
  }
  const obj = raw as Raw;
  c.unknownKeys(obj, DB_KEYS, prefix);
  const name = c.string(obj, "name", prefix);
  if (name !== undefined && !DATABASE_NAME_RE.test(name)) {
    c.add(`${prefix}name`, `"${name}" is not a safe name (use a-z, 0-9, _ and -, at most 64, starting with a letter or digit)`);
  }
  const path = c.string(obj, "path", prefix);
  if (obj.path === undefined) c.add(`${prefix}path`, "is required");
  let probes: string[] | undefined;
  if (obj.probes !== undefined) {
    if (!Array.isArray(obj.probes) || obj.probes.some((p) => typeof p !== "string" || p.trim() === "")) {
      c.add(`${prefix}probes`, "expected an array of SQL strings");
    } else probes = obj.probes as string[];
  }
  const entry: DatabaseEntry = {
    name,
    path: path ?? "",
    probes,
    check: c.oneOf(obj, "check", prefix, CHECK_LEVELS),
    compression: c.oneOf(obj, "compression", prefix, COMPRESSIONS),
    compression_level: c.integer(obj, "compression_level", prefix, 1, 19),
  };
  return entry;
}

/**
 * Given the parsed TOML of a config file, return it typed, or the list of every
 * problem found (empty when valid). Keys are reported as TOML paths.
 */
export function validateConfigFile(raw: Raw): { config: ConfigFile; problems: string[] } {
  const c = new Checker();
  c.unknownKeys(raw, TOP_KEYS, "");
  const config: ConfigFile = {
    backup_dir: c.string(raw, "backup_dir", ""),
    compression: c.oneOf(raw, "compression", "", COMPRESSIONS),
    compression_level: c.integer(raw, "compression_level", "", 1, 19),
    check: c.oneOf(raw, "check", "", CHECK_LEVELS),
    lock_timeout: c.span(raw, "lock_timeout", ""),
    log_file: c.string(raw, "log_file", ""),
  };
  if (raw.database !== undefined) {
    if (!Array.isArray(raw.database)) {
      c.add("database", `expected [[database]] entries, got ${typeName(raw.database)}`);
    } else {
      config.database = raw.database
        .map((d, i) => checkDatabase(c, d, i))
        .filter((d): d is DatabaseEntry => d !== undefined);
    }
  }
  return { config, problems: c.problems };
}
