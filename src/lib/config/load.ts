/**
 * Config pipeline: defaults → file → environment → flags → validate → ResolvedConfig.
 * Every problem is collected (with the file and key) before anything fails, and
 * nothing is written anywhere until a config has resolved.
 */
import { dirname, join, resolve } from "node:path";
import { type Compression, ConfigError, parseSpanMs } from "../model/index.ts";
import { applyEnvFile } from "../system/index.ts";
import type { ConfigFile } from "./config-file.ts";
import { expandEntries } from "./databases.ts";
import { DEFAULT_LEVEL, defaults, MAX_LEVEL } from "./defaults.ts";
import { resolveDestinations } from "./destinations.ts";
import { resolveEncryption } from "./encryption.ts";
import { findConfigFile } from "./find-file.ts";
import { parseFreeSpace } from "./free-space.ts";
import { databaseHooks, resolveHooks } from "./hooks.ts";
import { resolveNotify } from "./notify-resolve.ts";
import { resolvePing } from "./ping.ts";
import { readToml } from "./read-toml.ts";
import type { ResolvedConfig, ResolvedDatabase } from "./resolved.ts";
import { destinationPolicies, machineTimeZone, resolveRetention } from "./retention.ts";
import { DEFAULT_SCHEDULE, type JobName, type ScheduleConfig } from "./schedule.ts";
import { validateConfigFile } from "./schema.ts";
import { secretEnvNames } from "./secret-env.ts";

/** Overrides from the command line (highest precedence). */
export interface ConfigOverrides {
  configPath?: string;
  backupDir?: string;
  /** --env-file, relative to the working folder. */
  envFile?: string;
  /** install-schedule creates the environment file: one that does not exist yet is not an error. */
  envFileMayBeMissing?: boolean;
}

/** Defaults for jobs the file does not mention; `false` in the file disables a job. */
function resolveSchedule(entry: ConfigFile["schedule"]): ScheduleConfig {
  const pick = (job: JobName) => {
    const v = entry?.[job];
    return v === false ? null : (v ?? DEFAULT_SCHEDULE[job]);
  };
  return { backup: pick("backup"), verify: pick("verify"), health: pick("health"), report: pick("report") };
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
  return withLazyTimeZone(fromFile.timezone, {
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
  });
}

/**
 * `timeZone`, the machine's asked of Intl only when first read: Intl's start (≈ 8 ms) is a sixth of a small
 * restore, which never needs the zone (docs/performance.md). A spread or JSON of the config reads it as any field.
 */
function withLazyTimeZone(configured: string | undefined, config: Omit<ResolvedConfig, "timeZone">): ResolvedConfig {
  // machineTimeZone caches the zone per process, so the getter keeps no copy of its own.
  return Object.defineProperty(config, "timeZone", {
    get: () => configured ?? machineTimeZone(),
    enumerable: true,
  }) as ResolvedConfig;
}

function stripUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
