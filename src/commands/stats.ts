import { defineCommand } from "citty";
import { IDENTITY_ENV } from "../lib/codec/index.ts";
import { checkHealth, gatherDestinationStats, gatherStats, healthNotification } from "../lib/health/index.ts";
import { EXIT, OutcomeError, UsageError } from "../lib/model/index.ts";
import { sendNotifications } from "../lib/notify/index.ts";
import { renderMetrics, renderStats } from "../lib/output/index.ts";
import { listDatabases } from "../lib/store/index.ts";
import { commonArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";
import { writeMetricsAfterRun } from "./_metrics.ts";

export default defineCommand({
  meta: { name: "stats", description: "Report backup health per database; --check gives a verdict for monitors" },
  args: {
    ...commonArgs,
    name: { type: "positional", required: false, description: "Only this database", valueHint: "NAME" },
    check: { type: "boolean", description: "Print one line per problem (or `healthy`); exit 3 when unhealthy" },
    local: { type: "boolean", description: "Leave out the [[destination]]s (do not contact them)" },
    prometheus: {
      type: "boolean",
      description: "Print the metrics in the Prometheus text format (docs/prometheus.md)",
    },
  },
  async run({ args }) {
    const ctx = openContext(args);
    const { config } = ctx;
    if (args.prometheus && (args.check || args.json))
      throw new UsageError("--prometheus prints metrics; drop --check / --json");
    const listings = await listDatabases(config, args.name);
    // Configured databases without a folder yet still count: "no backups" is a problem to report.
    const report = gatherStats(config, listings);
    if (config.destinations.length > 0 && !args.local)
      report.destinations = await gatherDestinationStats(config, listings);
    if (args.prometheus) {
      process.stdout.write(renderMetrics(config, report, Boolean(process.env[IDENTITY_ENV])));
      return;
    }
    if (!args.check) {
      printData(ctx, report, () => renderStats(report));
      return;
    }
    const byName = new Map(config.databases.map((d) => [d.name, d]));
    // With an identity here, a checksum-only verification does not prove restorability.
    const restoreTestOnly = Boolean(process.env[IDENTITY_ENV]);
    const problems = checkHealth(
      report,
      (name) => ({
        ...(byName.get(name) ?? { maxAgeMs: config.maxAgeMs, verifyMaxAgeMs: config.verifyMaxAgeMs }),
        restoreTestOnly,
      }),
      config.minFreeSpace,
    );
    // Under --quiet a healthy verdict prints nothing, so cron mails only problems.
    if (problems.length === 0 && ctx.quiet && !ctx.json) return;
    printData(ctx, { healthy: problems.length === 0, problems, report }, () =>
      problems.length ? problems.join("\n") : "healthy",
    );
    if (problems.length === 0) return;
    for (const w of await sendNotifications(config, [healthNotification(problems)])) ctx.logger.warn(w);
    throw new OutcomeError(`${problems.length} health problem${problems.length > 1 ? "s" : ""}`, EXIT.unhealthy);
  },
  // The scheduled health job (`stats --check`) refreshes metrics_file too; plain `stats` only reads.
  cleanup: (c) => (c.args.check ? writeMetricsAfterRun(c) : undefined),
});
