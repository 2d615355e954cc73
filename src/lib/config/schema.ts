/**
 * The shape of a config file, checked key by key. Validation never stops at the
 * first problem: it collects every one, each as "key.path: what is wrong", so a
 * user fixes a file in one pass. Nothing here touches the file system.
 */
import { CHECK_LEVELS, COMPRESSIONS, SNAPSHOT_METHOD_NAMES } from "../model/index.ts";
import { Checker, type Raw, typeName } from "./checker.ts";
import { type ConfigFile, type DatabaseEntry, PRE_RESTORE_MODES } from "./config-file.ts";
import { checkDatabase } from "./database-schema.ts";
import { checkDestinations } from "./destinations.ts";
import { checkEncryptionTable } from "./encryption.ts";
import { parseFreeSpace } from "./free-space.ts";
import { checkHooksTable } from "./hooks.ts";
import { checkNotifyTable } from "./notify-schema.ts";
import { checkPingTable } from "./ping.ts";
import { checkRetentionTable, checkTimeZone } from "./retention.ts";
import { checkSchedule } from "./schedule-schema.ts";
import { checkCommandEnvSecrets } from "./secret-env.ts";

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
