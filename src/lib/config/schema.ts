/**
 * The shape of a config file, checked key by key. Validation never stops at the
 * first problem: it collects every one, each as "key.path: what is wrong", so a
 * user fixes a file in one pass. Nothing here touches the file system.
 */
import {
  CHECK_LEVELS,
  type CheckLevel,
  COMPRESSIONS,
  type Compression,
  CronSyntaxError,
  DATABASE_NAME_RE,
  parseCron,
  SNAPSHOT_METHOD_NAMES,
  type SnapshotMethodName,
  spanProblem,
} from "../model/index.ts";
import { checkDestinations, type DestinationEntry } from "./destinations.ts";
import { discoveryProblems } from "./discover.ts";
import { checkEncryptionTable, type EncryptionEntry } from "./encryption.ts";
import { checkHooksTable, type HooksEntry, hooksEnvList } from "./hooks.ts";
import { checkNotifyTable, commandEnvLists, type NotifyEntry, notifySecretEnv } from "./notify-schema.ts";
import { checkDatabasePing, checkPingTable, type PingEntry, pingSecretEnvNames } from "./ping.ts";
import { checkRetentionTable, checkTimeZone, type RetentionEntry } from "./retention.ts";
import { JOB_NAMES, type JobName } from "./schedule.ts";

/** A config file as written, after validation (paths still relative). */
export interface ConfigFile {
  backup_dir?: string;
  compression?: Compression;
  compression_level?: number;
  check?: CheckLevel;
  snapshot_method?: SnapshotMethodName;
  /** Page-level incremental backups (packs and a page map) instead of one self-contained file. */
  incremental?: boolean;
  /** restore's safety copy of the replaced database by default: keep the file itself, or take a backup. */
  pre_restore?: PreRestoreMode;
  lock_timeout?: string;
  log_file?: string;
  /** The HTML status page `stats --check` (the scheduled health job) rewrites; see docs/status-page.md. */
  status_page?: string;
  /** Prometheus textfile-collector file rewritten after every run (name ends in `.prom`). */
  metrics_file?: string;
  /** KEY=value file (0600, owned by the running user) filling in variables the environment lacks. */
  env_file?: string;
  max_age?: string;
  verify_max_age?: string;
  min_free_space?: string;
  notify?: NotifyEntry;
  /** Dead-man's-switch pings per job (src/lib/config/ping.ts). */
  ping?: PingEntry;
  /** backup / verify: a run stops (exit 5) once it has run this long. */
  timeout?: string;
  /** rotate: the global retention policy; `[[database]]` entries may override it key by key. */
  retention?: RetentionEntry;
  /** IANA zone for retention's calendar periods (default: the machine's). */
  timezone?: string;
  /** install-schedule: a cron expression per job, or false / "" to disable it; `shutdown`: a backup at shutdown. */
  schedule?: Partial<Record<JobName, string | false>> & { shutdown?: boolean };
  /** age encryption of new backups: recipients or a passphrase from the environment. */
  encryption?: EncryptionEntry;
  database?: DatabaseEntry[];
  /** Copies beyond backup_dir (src/lib/config/destinations.ts). */
  destination?: DestinationEntry[];
  /** Commands run before and after each backup (src/lib/config/hooks.ts). */
  hooks?: HooksEntry;
}

export interface DatabaseEntry {
  name?: string;
  /** The live file; "" when the entry discovers its files (`glob` or `folder`, src/lib/config/discover.ts). */
  path: string;
  glob?: string;
  folder?: string;
  probes?: string[];
  check?: CheckLevel;
  snapshot_method?: SnapshotMethodName;
  incremental?: boolean;
  pre_restore?: PreRestoreMode;
  compression?: Compression;
  compression_level?: number;
  max_age?: string;
  verify_max_age?: string;
  retention?: RetentionEntry;
  /** This database's own ping URL, or the variable holding it. */
  ping?: string;
  ping_env?: string;
  /** Its backup stops the run (exit 5) once it has run this long. */
  timeout?: string;
  /** Its own hook commands, replacing the global ones event by event. */
  hooks?: HooksEntry;
}

/** restore's safety copy: `keep` the replaced file beside it (when it can), or a pre-restore `backup` (docs/restore.md). */
export const PRE_RESTORE_MODES = ["keep", "backup"] as const;
export type PreRestoreMode = (typeof PRE_RESTORE_MODES)[number];

type Raw = Record<string, unknown>;

const TOP_KEYS = [
  "backup_dir",
  "compression",
  "compression_level",
  "check",
  "snapshot_method",
  "incremental",
  "pre_restore",
  "lock_timeout",
  "log_file",
  "status_page",
  "metrics_file",
  "env_file",
  "max_age",
  "verify_max_age",
  "min_free_space",
  "notify",
  "ping",
  "timeout",
  "retention",
  "timezone",
  "schedule",
  "encryption",
  "database",
  "destination",
  "hooks",
];
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

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
};

/** `10%` → { percent: 10 }; `2GiB` / `500MB` → { bytes }; null when malformed. */
export function parseFreeSpace(text: string): { bytes?: number; percent?: number } | null {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pct) return Number(pct[1]) <= 100 ? { percent: Number(pct[1]) } : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? BYTE_UNITS[m[2]!.toUpperCase()] : undefined;
  return m && unit ? { bytes: Math.round(Number(m[1]) * unit) } : null;
}

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
    if (v === "") {
      this.add(prefix + key, "must not be empty");
      return undefined;
    }
    if (typeof v !== "string") {
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
  boolean(obj: Raw, key: string, prefix: string): boolean | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") {
      this.add(prefix + key, `expected true or false, got ${JSON.stringify(v) ?? typeName(v)}`);
      return undefined;
    }
    return v;
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
  url(obj: Raw, key: string, prefix: string): string | undefined {
    const v = this.string(obj, key, prefix);
    if (v !== undefined && !/^https?:\/\//.test(v)) {
      this.add(prefix + key, `"${v}" is not an http(s) URL`);
      return undefined;
    }
    return v;
  }
  span(obj: Raw, key: string, prefix: string): string | undefined {
    const v = this.string(obj, key, prefix);
    const problem = v === undefined ? null : spanProblem(v);
    if (problem) {
      this.add(prefix + key, problem);
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

/**
 * The environment variables this config reads secrets from, each with the key
 * that names it. AWS_* variables are secrets by rule (S3's default credentials).
 */
export function secretEnvNames(config: ConfigFile): { name: string; key: string }[] {
  const out: { name: string; key: string }[] = [];
  if (config.encryption?.passphrase_env)
    out.push({ name: config.encryption.passphrase_env, key: "encryption.passphrase_env" });
  out.push(...notifySecretEnv(config.notify));
  (config.destination ?? []).forEach((d, i) => {
    for (const k of ["access_key_id_env", "secret_access_key_env", "session_token_env"]) {
      const v = d[k];
      if (typeof v === "string") out.push({ name: v, key: `destination[${i}].${k}` });
    }
  });
  out.push(...pingSecretEnvNames(config.ping, config.database));
  return out;
}

/** A command hook must never be handed a secret, even when an admin lists it by mistake. */
function checkCommandEnvSecrets(c: Checker, config: ConfigFile) {
  const secrets = secretEnvNames(config);
  for (const { key, names } of [...commandEnvLists(config.notify), ...hooksEnvList(config.hooks)]) {
    for (const name of names) {
      const secret = secrets.find((s) => s.name === name);
      if (secret) c.add(key, `"${name}" holds a secret (${secret.key}); the command never gets it`);
      else if (name.startsWith("AWS_"))
        c.add(key, `"${name}" is an AWS_* variable (credentials); the command never gets those`);
    }
  }
}

/** [schedule]: each job a cron expression (validated here), or false / "" for "do not schedule". */
function checkSchedule(c: Checker, raw: unknown): ConfigFile["schedule"] {
  if (raw === undefined) return undefined;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    c.add("schedule", "expected a table [schedule]");
    return undefined;
  }
  const obj = raw as Raw;
  c.unknownKeys(obj, [...JOB_NAMES, "shutdown"], "schedule.");
  const out: NonNullable<ConfigFile["schedule"]> = { shutdown: c.boolean(obj, "shutdown", "schedule.") };
  for (const job of JOB_NAMES) {
    const v = obj[job];
    if (v === undefined) continue;
    if (v === false || v === "") out[job] = false;
    else if (typeof v !== "string") c.add(`schedule.${job}`, `expected a cron expression or false, got ${typeName(v)}`);
    else {
      try {
        parseCron(v);
        out[job] = v;
      } catch (err) {
        if (!(err instanceof CronSyntaxError)) throw err;
        c.add(`schedule.${job}`, `"${v}" is not a valid cron expression: ${err.message}`);
      }
    }
  }
  return out;
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
    snapshot_method: c.oneOf(raw, "snapshot_method", "", SNAPSHOT_METHOD_NAMES),
    incremental: c.boolean(raw, "incremental", ""),
    pre_restore: c.oneOf(raw, "pre_restore", "", PRE_RESTORE_MODES),
    lock_timeout: c.span(raw, "lock_timeout", ""),
    log_file: c.string(raw, "log_file", ""),
    status_page: c.string(raw, "status_page", ""),
    metrics_file: c.string(raw, "metrics_file", ""),
    env_file: c.string(raw, "env_file", ""),
    max_age: c.span(raw, "max_age", ""),
    verify_max_age: c.span(raw, "verify_max_age", ""),
    min_free_space: c.string(raw, "min_free_space", ""),
    notify: checkNotifyTable(raw.notify, (k, w) => c.add(k, w)),
    ping: checkPingTable(raw.ping, (k, w) => c.add(k, w)),
    timeout: c.span(raw, "timeout", ""),
    retention: checkRetentionTable(raw.retention, "retention", (k, w) => c.add(k, w)),
    timezone: checkTimeZone(raw.timezone, (k, w) => c.add(k, w)),
    schedule: checkSchedule(c, raw.schedule),
    destination: checkDestinations(raw.destination, (k, w) => c.add(k, w)),
    encryption: checkEncryptionTable(raw.encryption, (k, w) => c.add(k, w)),
    hooks: checkHooksTable(raw.hooks, "hooks", (k, w) => c.add(k, w)),
  };
  if (config.min_free_space !== undefined && parseFreeSpace(config.min_free_space) === null) {
    c.add("min_free_space", `"${config.min_free_space}" is not a size or percentage (examples: 5%, 2GiB, 500MB)`);
  }
  // node_exporter's textfile collector reads only *.prom files: any other name would be ignored silently.
  if (config.metrics_file !== undefined && !/[^/\\]\.prom$/.test(config.metrics_file)) {
    c.add(
      "metrics_file",
      `"${config.metrics_file}" must end in .prom (node_exporter's textfile collector reads only those)`,
    );
  }
  if (raw.database !== undefined) {
    if (!Array.isArray(raw.database)) {
      c.add("database", `expected [[database]] entries, got ${typeName(raw.database)}`);
    } else {
      config.database = raw.database
        .map((d, i) => checkDatabase(c, d, i))
        .filter((d): d is DatabaseEntry => d !== undefined);
    }
  }
  // After the databases: their `ping_env` are secrets too.
  checkCommandEnvSecrets(c, config);
  return { config, problems: c.problems };
}
