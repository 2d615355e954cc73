/**
 * Gathering and sending the status report: the same inputs as `stats --check`
 * (listings, stats, destinations, the verdict, the op log), then one `report`
 * notification to the channels that list it in `[notify] on`.
 */
import { hostname } from "node:os";
import { IDENTITY_ENV } from "../codec/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { EXIT, SqlbakError } from "../model/index.ts";
import { channelsFor, makeNotification, sendNotifications } from "../notify/index.ts";
import { listDatabases, readOpLog } from "../store/index.ts";
import { gatherDestinationStats } from "./remote.ts";
import { buildReport, type StatusReport } from "./report.ts";
import { gatherStats } from "./stats.ts";
import { checkHealth, type HealthThresholds } from "./verdict.ts";

export interface ReportRunOptions {
  days: number;
  /** Only this database. */
  name?: string;
  /** Leave out the destinations (do not contact them). */
  local?: boolean;
  now?: Date;
  env?: NodeJS.ProcessEnv;
}

/** The thresholds `stats --check` judges a database by (its own, or the global ones). */
export function thresholdsFor(config: ResolvedConfig, env: NodeJS.ProcessEnv = process.env) {
  const byName = new Map(config.databases.map((d) => [d.name, d]));
  // With an identity here, a checksum-only verification does not prove restorability.
  const restoreTestOnly = Boolean(env[IDENTITY_ENV]);
  return (name: string): HealthThresholds => ({
    ...(byName.get(name) ?? { maxAgeMs: config.maxAgeMs, verifyMaxAgeMs: config.verifyMaxAgeMs }),
    restoreTestOnly,
  });
}

/** Gathers everything `stats --check` sees and builds the report over the last `days` days. */
export async function gatherReport(config: ResolvedConfig, opts: ReportRunOptions): Promise<StatusReport> {
  const now = opts.now ?? new Date();
  const listings = await listDatabases(config, opts.name);
  const stats = gatherStats(config, listings, now);
  if (config.destinations.length > 0 && !opts.local)
    stats.destinations = await gatherDestinationStats(config, listings, now);
  const problems = checkHealth(stats, thresholdsFor(config, opts.env), config.minFreeSpace);
  const log = readOpLog(config.logFile);
  return buildReport({ stats, problems, listings, log }, { days: opts.days, now, host: hostname() });
}

/**
 * The channels that get the report; throws (exit 2) when none does, so a
 * scheduled `report --send` that reaches nobody is noticed at once.
 */
export function reportChannels(config: ResolvedConfig): string[] {
  const channels = channelsFor(config.notify, "report");
  if (channels.length === 0)
    throw new SqlbakError('no notification channel gets the "report" event', {
      exitCode: EXIT.usage,
      hint: 'add "report" to [notify] on, or to the `on` of a [[notify.channel]] (docs/report.md)',
    });
  return channels;
}

export interface ReportDelivery {
  channels: string[];
  /** One line per channel that failed after its retry (also in the op log). */
  failures: string[];
}

/** Sends the report as one `report` event to `channels` (see reportChannels). */
export async function sendReport(
  config: ResolvedConfig,
  report: StatusReport,
  channels: string[],
): Promise<ReportDelivery> {
  const n = makeNotification({
    event: "report",
    title: report.title,
    message: report.text,
    problems: report.facts.problems,
    report: report.facts,
  });
  return { channels, failures: await sendNotifications(config, [n]) };
}
