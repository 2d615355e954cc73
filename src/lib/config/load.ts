/**
 * Config pipeline: defaults → file → environment → flags → validate → ResolvedConfig.
 * Every problem is collected (with the file and key) before anything fails, and
 * nothing is written anywhere until a config has resolved.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import {
  type CheckLevel,
  type Compression,
  ConfigError,
  DATABASE_NAME_RE,
  fsErrorMessage,
  parseSpanMs,
  type SnapshotMethodName,
} from "../model/index.ts";
import { applyEnvFile } from "../system/index.ts";
import { type ResolvedDestination, resolveDestinations } from "./destinations.ts";
import { type DiscoverySource, discoverDatabases } from "./discover.ts";
import { type EncryptionConfig, resolveEncryption } from "./encryption.ts";
import { type DatabaseHooks, databaseHooks, type HooksConfig, resolveHooks } from "./hooks.ts";
import type { NotifyConfig } from "./notify.ts";
import { resolveNotify } from "./notify-resolve.ts";
import { type PingConfig, resolvePing } from "./ping.ts";
import { machineTimeZone, type RetentionEntry, type RetentionPolicy, resolveRetention } from "./retention.ts";
import { DEFAULT_SCHEDULE, type JobName, type ScheduleConfig } from "./schedule.ts";
import {
  type ConfigFile,
  type DatabaseEntry,
  type PreRestoreMode,
  parseFreeSpace,
  secretEnvNames,
  validateConfigFile,
} from "./schema.ts";
import { findTomlErrorPosition } from "./toml-position.ts";

export interface ResolvedDatabase {
  name: string;
  /** Absolute path of the live database file. */
  path: string;
  probes: string[];
  check: CheckLevel;
  snapshotMethod: SnapshotMethodName;
  /** `incremental`: pages backups (packs and a page map, docs/format.md) instead of one self-contained file. */
  incremental: boolean;
  /** `pre_restore`: restore's safety copy of this file when `--pre-restore` is not given. */
  preRestore: PreRestoreMode;
  compression: Compression;
  compressionLevel: number;
  /** stats --check: the newest backup may be at most this old. */
  maxAgeMs: number;
  /** stats --check: a verification is due this often (0: never required). */
  verifyMaxAgeMs: number;
  /** rotate: the global [retention] with this database's overrides merged key by key (absent: the global policy). */
  retention?: RetentionPolicy;
  /** rotate at a destination with its own `retention`: that table merged over this database's policy, by name. */
  destinationRetention?: Record<string, RetentionPolicy>;
  /** `timeout` of this database's entry: its backup stops the run once it has run this long. */
  timeoutMs?: number;
  /** Hook commands for this database: its `[database.hooks]` over `[hooks]` (absent: none). */
  hooks?: DatabaseHooks;
}

export interface ResolvedConfig {
  /** The config file used, or null when running on defaults. */
  file: string | null;
  backupDir: string;
  compression: Compression;
  compressionLevel: number;
  check: CheckLevel;
  snapshotMethod: SnapshotMethodName;
  /** The global `incremental`, for databases with no [[database]] entry of their own. */
  incremental: boolean;
  /** The global `pre_restore`, for files with no [[database]] entry of their own. */
  preRestore: PreRestoreMode;
  lockTimeoutMs: number;
  logFile: string;
  /** `status_page`, absolute: the page `stats --check` rewrites; null when not set. */
  statusPage: string | null;
  /** `metrics_file`, absolute: the Prometheus textfile written after every run; null when not set. */
  metricsFile: string | null;
  /** Variables the config names for secrets, with the key naming each (S3 defaults not included). */
  secretVars: { name: string; key: string }[];
  /** The environment file applied (--env-file, else `env_file`), absolute; null when none. */
  envFile: string | null;
  maxAgeMs: number;
  verifyMaxAgeMs: number;
  minFreeSpace: { bytes?: number; percent?: number };
  notify: NotifyConfig;
  /** Dead-man's-switch pings: per job and per database (docs/pings.md). */
  ping: PingConfig;
  /** `timeout`: a backup or verify run stops (exit 5) once it has run this long; null: no limit. */
  timeoutMs: number | null;
  /** rotate: the global policy, for databases with no [[database]] entry. */
  retention: RetentionPolicy;
  /** rotate at a destination with its own `retention`, for databases with no [[database]] entry; by name. */
  destinationRetention: Record<string, RetentionPolicy>;
  /** IANA zone of retention's calendar periods: `timezone`, else the machine's. */
  timeZone: string;
  /** install-schedule: cron expression per job, null when disabled. */
  schedule: ScheduleConfig;
  /** `[schedule] shutdown`: install-schedule adds a systemd unit that backs up at shutdown (docs/hooks.md). */
  shutdownBackup: boolean;
  /** How new backups are encrypted (age); null: not encrypted. */
  encryption: EncryptionConfig | null;
  databases: ResolvedDatabase[];
  /** `[[database]]` entries with `glob` or `folder`, for a folder whose database is no longer found (discover.ts). */
  discovery?: { source: DiscoverySource; baseDir: string; retention?: RetentionPolicy }[];
  /** `[[destination]]`: where each backup is copied after it is complete locally. */
  destinations: ResolvedDestination[];
  /** `[hooks]`: the hooks' timeout, extra variables and global commands (docs/hooks.md). */
  hooks: HooksConfig;
}

/** Overrides from the command line (highest precedence). */
export interface ConfigOverrides {
  configPath?: string;
  backupDir?: string;
  /** --env-file, relative to the working folder. */
  envFile?: string;
  /** install-schedule creates the environment file: one that does not exist yet is not an error. */
  envFileMayBeMissing?: boolean;
}

/** zstd level 3 is zstd's own default: a good ratio at several hundred MB/s per core. */
const DEFAULT_LEVEL: Record<Compression, number> = { zstd: 3, gzip: 6, none: 0 };
const MAX_LEVEL: Record<Compression, number> = { zstd: 19, gzip: 9, none: 0 };

/**
 * Long enough for a previous scheduled backup of a multi-GiB database to finish,
 * short enough that a stuck run is reported within one cron interval.
 */
export const DEFAULT_LOCK_TIMEOUT = "2m";

/**
 * max_age 26h: a daily backup plus two hours of slack. verify_max_age 8d: the
 * default schedule verifies weekly. min_free_space 5%: room for the next run.
 * incremental true: each backup stores only the pages not already stored;
 * `incremental = false` keeps self-contained files that `age -d | zstd -d` alone restores.
 */
export function defaults(): ConfigFile {
  return {
    backup_dir: "./backups",
    compression: "zstd",
    check: "quick",
    snapshot_method: "pages",
    incremental: true,
    pre_restore: "keep",
    lock_timeout: DEFAULT_LOCK_TIMEOUT,
    max_age: "26h",
    verify_max_age: "8d",
    min_free_space: "5%",
  };
}

/** Defaults for jobs the file does not mention; `false` in the file disables a job. */
function resolveSchedule(entry: ConfigFile["schedule"]): ScheduleConfig {
  const pick = (job: JobName) => {
    const v = entry?.[job];
    return v === false ? null : (v ?? DEFAULT_SCHEDULE[job]);
  };
  return { backup: pick("backup"), verify: pick("verify"), health: pick("health"), report: pick("report") };
}

/** The config file to use, in the lookup order of docs/configuration.md; null when there is none. */
export function findConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string | null {
  const given = explicit ?? env.SQLBAK_CONFIG;
  if (given) {
    const path = resolve(cwd, given);
    if (!existsSync(path)) throw new ConfigError([`${path}: config file not found`]);
    return path;
  }
  const xdg = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  const candidates = [join(cwd, "sqlbak.toml"), join(xdg, "sqlbak", "config.toml"), "/etc/sqlbak/config.toml"];
  return candidates.find((p) => existsSync(p)) ?? null;
}

function readToml(file: string): Record<string, unknown> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ConfigError([fsErrorMessage(err, "read config file", file)]);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError([`${file}: not valid UTF-8 text`]);
  }
  try {
    return Bun.TOML.parse(text) as Record<string, unknown>;
  } catch (err) {
    const raw = (err as Error).message;
    const { line, column } = findTomlErrorPosition(text, raw);
    const msg = raw.replace(/^TOML Parse error:\s*/, "").replace(/\(0x0A\)/g, "the end of the line");
    throw new ConfigError([`${file}:${line}:${column}: invalid TOML: ${msg}`]);
  }
}

/**
 * The `[[database]]` entries as one database each: a `path` entry as itself, a
 * `glob`/`folder` entry once per file it finds now. Two databases with one name
 * are a problem naming both paths: they would share a backup folder.
 */
function expandEntries(
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
 * Loads and resolves the configuration. Given overrides and the environment,
 * returns a ResolvedConfig with absolute paths; throws ConfigError listing every
 * problem (exit 2) otherwise.
 */
export function loadConfig(overrides: ConfigOverrides = {}, env = process.env, cwd = process.cwd()): ResolvedConfig {
  const file = findConfigFile(overrides.configPath, env, cwd);
  const where = file ?? "defaults";
  const baseDir = file ? dirname(file) : cwd;
  const problems: string[] = [];
  let fromFile: ConfigFile = {};
  if (file) {
    const checked = validateConfigFile(readToml(file));
    problems.push(...checked.problems);
    fromFile = checked.config;
  }
  // Before anything reads a variable, so the file can supply every secret the config names.
  const envFile = overrides.envFile
    ? resolve(cwd, overrides.envFile)
    : fromFile.env_file
      ? resolve(baseDir, fromFile.env_file)
      : null;
  if (envFile) applyEnvFile(envFile, env, overrides.envFileMayBeMissing);
  const merged: ConfigFile = { ...defaults(), ...stripUndefined(fromFile) };
  if (env.SQLBAK_BACKUP_DIR) merged.backup_dir = env.SQLBAK_BACKUP_DIR;
  const backupDirBase = overrides.backupDir ? cwd : env.SQLBAK_BACKUP_DIR ? cwd : baseDir;
  if (overrides.backupDir) merged.backup_dir = overrides.backupDir;

  const compression = merged.compression!;
  const check = merged.check!;
  const level = (c: Compression, lvl: number | undefined, key: string) => {
    if (lvl !== undefined && lvl > MAX_LEVEL[c])
      problems.push(`${key}: level ${lvl} is out of range for ${c} (1-${MAX_LEVEL[c]})`);
    return lvl ?? DEFAULT_LEVEL[c];
  };
  const compressionLevel = level(compression, merged.compression_level, "compression_level");
  const backupDir = resolve(backupDirBase, merged.backup_dir!);
  const maxAgeMs = parseSpanMs(merged.max_age!)!;
  const verifyMaxAgeMs = parseSpanMs(merged.verify_max_age!)!;

  const hooks = resolveHooks(fromFile.hooks);
  const entries = expandEntries(fromFile.database ?? [], baseDir, problems);
  const databases: ResolvedDatabase[] = entries.map(({ entry: d, index: i, name, path }) => {
    const c = d.compression ?? compression;
    return {
      name,
      path,
      probes: d.probes ?? [],
      check: d.check ?? check,
      snapshotMethod: d.snapshot_method ?? merged.snapshot_method!,
      incremental: d.incremental ?? merged.incremental!,
      preRestore: d.pre_restore ?? merged.pre_restore!,
      compression: c,
      compressionLevel: level(
        c,
        d.compression_level ?? (d.compression ? undefined : merged.compression_level),
        `database[${i}].compression_level`,
      ),
      maxAgeMs: d.max_age ? parseSpanMs(d.max_age)! : maxAgeMs,
      verifyMaxAgeMs: d.verify_max_age ? parseSpanMs(d.verify_max_age)! : verifyMaxAgeMs,
      retention: resolveRetention(fromFile.retention, d.retention),
      destinationRetention: destinationPolicies(fromFile.destination, fromFile.retention, d.retention),
      ...(d.timeout && parseSpanMs(d.timeout) ? { timeoutMs: parseSpanMs(d.timeout)! } : {}),
      ...databaseHooks(hooks.global, d.hooks),
    };
  });

  const notify = resolveNotify(
    fromFile.notify,
    secretEnvNames(fromFile).map((s) => s.name),
    baseDir,
    problems,
  );
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${where}: ${p}`));
  const resolved: ResolvedConfig = {
    file,
    backupDir,
    compression,
    compressionLevel,
    check,
    snapshotMethod: merged.snapshot_method!,
    incremental: merged.incremental!,
    preRestore: merged.pre_restore!,
    lockTimeoutMs: parseSpanMs(merged.lock_timeout!)!,
    logFile: merged.log_file ? resolve(baseDir, merged.log_file) : join(backupDir, "sqlbak.log.jsonl"),
    statusPage: merged.status_page ? resolve(baseDir, merged.status_page) : null,
    metricsFile: merged.metrics_file ? resolve(baseDir, merged.metrics_file) : null,
    envFile,
    secretVars: secretEnvNames(fromFile),
    maxAgeMs,
    verifyMaxAgeMs,
    minFreeSpace: parseFreeSpace(merged.min_free_space!)!,
    notify,
    ping: resolvePing(
      fromFile.ping,
      entries.map((e) => ({ ...e.entry, name: e.name })),
      env,
    ),
    // "0" is no limit, as for verify_max_age.
    timeoutMs: fromFile.timeout ? parseSpanMs(fromFile.timeout) || null : null,
    retention: resolveRetention(fromFile.retention),
    destinationRetention: destinationPolicies(fromFile.destination, fromFile.retention),
    timeZone: fromFile.timezone ?? "",
    schedule: resolveSchedule(fromFile.schedule),
    shutdownBackup: fromFile.schedule?.shutdown ?? false,
    encryption: resolveEncryption(fromFile.encryption),
    databases,
    discovery: (fromFile.database ?? []).flatMap((d) =>
      d.glob !== undefined || d.folder !== undefined
        ? [{ source: d, baseDir, retention: resolveRetention(fromFile.retention, d.retention) }]
        : [],
    ),
    destinations: resolveDestinations(fromFile.destination, baseDir),
    hooks,
  };
  // The machine's zone only when something reads it (rotation): a backup alone never does.
  if (fromFile.timezone === undefined)
    Object.defineProperty(resolved, "timeZone", { get: machineTimeZone, enumerable: true, configurable: true });
  return resolved;
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

function stripUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Each destination with its own `retention`: defaults, global, the database's, then the destination's table. */
function destinationPolicies(
  destinations: { name: string; retention?: unknown }[] | undefined,
  ...layers: (RetentionEntry | undefined)[]
): Record<string, RetentionPolicy> {
  const out: Record<string, RetentionPolicy> = {};
  for (const d of destinations ?? [])
    if (d.retention && typeof d.retention === "object")
      out[d.name] = resolveRetention(...layers, d.retention as RetentionEntry);
  return out;
}
