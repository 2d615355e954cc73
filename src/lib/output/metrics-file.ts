/**
 * The Prometheus metrics of a configuration, printed by `stats --prometheus`
 * and rewritten into `metrics_file` after every backup, verify, rotate,
 * restore and health run, for node_exporter's textfile collector. The file is replaced
 * atomically (readers see the old or the new file, never half of one), and
 * writing it never changes a run's outcome: a failure is a warning.
 */
import type { ResolvedConfig } from "../config/index.ts";
import { checkHealth, gatherDestinationStats, gatherStats, type StatsReport } from "../health/index.ts";
import { fsErrorMessage } from "../model/index.ts";
import { listDatabases, readOpLog } from "../store/index.ts";
import { SQLBAK_VERSION, writeFileAtomic } from "../system/index.ts";
import { type PrometheusInput, renderPrometheus } from "./prometheus.ts";

/**
 * node_exporter usually runs as its own user: the file holds names, times and
 * sizes, no backup data, so everyone may read it.
 */
export const METRICS_FILE_MODE = 0o644;

/**
 * Given a config and its stats report, return the exposition text.
 * `restoreTestOnly`: an identity is at hand, so only a restore test counts
 * as a verification for the health problems (as in `stats --check`).
 */
export function renderMetrics(config: ResolvedConfig, report: StatsReport, restoreTestOnly: boolean): string {
  const byName = new Map(config.databases.map((d) => [d.name, d]));
  const thresholdsOf = (name: string) =>
    byName.get(name) ?? { maxAgeMs: config.maxAgeMs, verifyMaxAgeMs: config.verifyMaxAgeMs };
  const min = config.minFreeSpace;
  // The same floor as the verdict's: the larger of the absolute and the relative minimum.
  const minFreeBytes = Math.max(min.bytes ?? 0, ((min.percent ?? 0) / 100) * (report.volume?.total_bytes ?? 0));
  const input: PrometheusInput = {
    report,
    version: SQLBAK_VERSION,
    thresholdsOf,
    minFreeBytes: Math.round(minFreeBytes),
    log: readOpLog(config.logFile),
    problems: checkHealth(report, (name) => ({ ...thresholdsOf(name), restoreTestOnly }), min),
  };
  return renderPrometheus(input);
}

/**
 * Gathers the whole state (every database, every destination) and replaces
 * `metrics_file` with it. Returns null when written or not configured, else
 * the warning to print; never throws.
 */
export async function refreshMetricsFile(config: ResolvedConfig, restoreTestOnly: boolean): Promise<string | null> {
  if (!config.metricsFile) return null;
  let report: StatsReport;
  try {
    const listings = await listDatabases(config);
    report = gatherStats(config, listings);
    if (config.destinations.length > 0) report.destinations = await gatherDestinationStats(config, listings);
  } catch (err) {
    return `could not gather the metrics for ${config.metricsFile}: ${(err as Error).message}`;
  }
  return writeMetricsFile(config.metricsFile, renderMetrics(config, report, restoreTestOnly));
}

/** Replaces the file atomically (temp, fsync, rename, fsync folder); returns a warning instead of throwing. */
export function writeMetricsFile(path: string, text: string): string | null {
  try {
    writeFileAtomic(path, text, METRICS_FILE_MODE);
    return null;
  } catch (err) {
    return `${fsErrorMessage(err, "write metrics_file", path)}; the run itself is not affected`;
  }
}
