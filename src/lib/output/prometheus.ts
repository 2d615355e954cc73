/**
 * `stats --prometheus` and the textfile-collector file: the stats report as
 * the Prometheus text exposition format (version 0.0.4). Prometheus exposes
 * state, not events: every value here is read from the backup folders, the
 * destinations and the op log, so a scrape after any run shows the same state
 * a `stats` would. Every family is a gauge; the names are listed with their
 * meaning in docs/prometheus.md (the dashboard and alert rules depend on them).
 */
import type { DatabaseStats, DestinationStats, StatsReport } from "../health/index.ts";
import { KINDS } from "../model/index.ts";
import type { LoggedEntry } from "../store/index.ts";

export interface PrometheusInput {
  report: StatsReport;
  version: string;
  /** max_age and verify_max_age of a database (its own, else the global ones). */
  thresholdsOf: (database: string) => { maxAgeMs: number; verifyMaxAgeMs: number };
  /** min_free_space as bytes of the backup volume (a percentage resolved against its size). */
  minFreeBytes: number;
  /** The op log, oldest first: durations of backups are read from it. */
  log: LoggedEntry[];
  /** What `stats --check` finds, one line per problem. */
  problems: string[];
}

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  samples: { labels: Labels; value: number }[];
}

/** `\`, `"` and newlines are the three characters a label value must escape. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes only `\` and newlines. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

/** The families in output order, each created on first use so HELP/TYPE precede its samples once. */
class Exposition {
  private families = new Map<string, Family>();
  add(name: string, help: string, labels: Labels, value: number): void {
    let f = this.families.get(name);
    if (!f) {
      f = { name, help, samples: [] };
      this.families.set(name, f);
    }
    f.samples.push({ labels, value });
  }
  render(): string {
    const lines: string[] = [];
    for (const f of this.families.values()) {
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} gauge`);
      for (const s of f.samples) {
        const pairs = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
        lines.push(`${f.name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(s.value)}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }
}

function lastBackupDuration(log: LoggedEntry[], database: string): number | null {
  const e = log.findLast((x) => x.op === "backup" && x.ok && x.database === database);
  return typeof e?.duration_ms === "number" ? e.duration_ms : null;
}

function addDatabase(x: Exposition, d: DatabaseStats, input: PrometheusInput): void {
  const l = { database: d.database };
  const t = input.thresholdsOf(d.database);
  for (const kind of KINDS) x.add("sqlbak_backups", "Backups in backup_dir, by kind.", { ...l, kind }, d.count[kind]);
  x.add(
    "sqlbak_last_success_timestamp_seconds",
    "Creation time of the newest scheduled or manual backup (what max_age judges); 0 when there is none.",
    l,
    d.newest_own ? seconds(d.newest_own.created_at) : 0,
  );
  x.add("sqlbak_max_age_seconds", "max_age: the newest backup may be at most this old.", l, t.maxAgeMs / 1000);
  const duration = lastBackupDuration(input.log, d.database);
  if (duration !== null)
    x.add("sqlbak_last_backup_duration_seconds", "How long the last successful backup run took.", l, duration / 1000);
  const run = d.last_backup_run;
  if (run) {
    x.add("sqlbak_last_backup_run_timestamp_seconds", "When the last backup run ended.", l, seconds(run.ts));
    x.add("sqlbak_last_backup_run_success", "1 if the last backup run succeeded, 0 if it failed.", l, run.ok ? 1 : 0);
  }
  x.add(
    "sqlbak_failures_since_success",
    "Failed operations logged since the last successful backup.",
    l,
    d.failures_since_success.length,
  );
  if (d.raw_bytes_newest !== null)
    x.add("sqlbak_newest_backup_raw_bytes", "Raw (uncompressed) size of the newest backup.", l, d.raw_bytes_newest);
  if (d.added_bytes_newest !== null)
    x.add(
      "sqlbak_newest_backup_added_bytes",
      "What the newest backup added to backup_dir (its data file, or its map and new packs).",
      l,
      d.added_bytes_newest,
    );
  x.add(
    "sqlbak_stored_bytes",
    "What all backups of the database take in backup_dir (shared packs once).",
    l,
    d.stored_bytes,
  );
  x.add("sqlbak_raw_bytes", "Sum of the raw sizes of all backups of the database.", l, d.raw_bytes);
  const v = d.last_verification;
  x.add(
    "sqlbak_last_verify_timestamp_seconds",
    "When the newest verification of any backup ran; 0 when never verified.",
    l,
    v ? seconds(v.at) : 0,
  );
  if (v) x.add("sqlbak_last_verify_success", "1 if the newest verification passed, 0 if it failed.", l, v.ok ? 1 : 0);
  x.add(
    "sqlbak_last_restore_test_timestamp_seconds",
    "When the newest verification that restored an image (level quick or full) ran; 0 when never.",
    l,
    d.last_restore_test ? seconds(d.last_restore_test.at) : 0,
  );
  x.add(
    "sqlbak_verify_max_age_seconds",
    "verify_max_age: a verification is due this often (0: never required).",
    l,
    t.verifyMaxAgeMs / 1000,
  );
  x.add(
    "sqlbak_failed_backups",
    "Backups that failed their latest verification, reference a failed pack, or lost their data file.",
    l,
    d.failed_backups.length,
  );
}

function addDestination(x: Exposition, d: DestinationStats): void {
  const l = { database: d.database, destination: d.destination };
  x.add("sqlbak_destination_up", "1 if the destination could be listed, 0 if not.", l, d.ok ? 1 : 0);
  if (d.ok) {
    x.add("sqlbak_destination_backups", "Backups of the database at the destination.", l, d.count);
    x.add(
      "sqlbak_destination_missing_backups",
      "Local backups the destination does not have (0: in sync).",
      l,
      d.missing,
    );
    x.add("sqlbak_destination_stored_bytes", "What the backups take at the destination.", l, d.stored_bytes);
    x.add(
      "sqlbak_destination_newest_backup_timestamp_seconds",
      "Creation time of the newest backup at the destination; 0 when there is none.",
      l,
      d.newest ? seconds(d.newest.created_at) : 0,
    );
    if (d.lag_ms !== null)
      x.add(
        "sqlbak_destination_lag_seconds",
        "How much older the newest copy is than the newest local backup (0: up to date).",
        l,
        d.lag_ms / 1000,
      );
  }
  if (d.last_copy) {
    x.add(
      "sqlbak_destination_last_copy_timestamp_seconds",
      "When the last copy attempt ended.",
      l,
      seconds(d.last_copy.ts),
    );
    x.add(
      "sqlbak_destination_last_copy_success",
      "1 if the last copy attempt succeeded, 0 if it failed.",
      l,
      d.last_copy.ok ? 1 : 0,
    );
  }
}

/** Given the report and its thresholds, return the whole exposition text (ends with a newline). */
export function renderPrometheus(input: PrometheusInput): string {
  const { report } = input;
  const x = new Exposition();
  x.add("sqlbak_info", "sqlbak that wrote these metrics; always 1.", { version: input.version }, 1);
  x.add("sqlbak_generated_timestamp_seconds", "When these metrics were gathered.", {}, seconds(report.generated_at));
  x.add("sqlbak_health_problems", "Problems `sqlbak stats --check` reports (0: healthy).", {}, input.problems.length);
  for (const d of report.databases) addDatabase(x, d, input);
  for (const d of report.destinations ?? []) addDestination(x, d);
  const vol = report.volume;
  if (vol) {
    const l = { backup_dir: report.backup_dir };
    x.add(
      "sqlbak_backup_dir_free_bytes",
      "Free space (for sqlbak's user) on the volume of backup_dir.",
      l,
      vol.free_bytes,
    );
    x.add("sqlbak_backup_dir_size_bytes", "Size of the volume of backup_dir.", l, vol.total_bytes);
    x.add(
      "sqlbak_backup_dir_min_free_bytes",
      "min_free_space in bytes: less free space than this is a health problem.",
      l,
      input.minFreeBytes,
    );
  }
  return x.render();
}
