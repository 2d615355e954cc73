import { defineCommand } from "citty";
import { IDENTITY_ENV } from "../lib/codec/index.ts";
import {
  checkHealth,
  gatherDestinationStats,
  gatherStats,
  healthNotifications,
  healthScope,
} from "../lib/health/index.ts";
import { describeError, EXIT, OutcomeError, UsageError } from "../lib/model/index.ts";
import { sendNotifications } from "../lib/notify/index.ts";
import { renderMetrics, renderStats, writeStatusPage } from "../lib/output/index.ts";
import { listDatabases } from "../lib/store/index.ts";
import { SQLBAK_VERSION } from "../lib/system/index.ts";
import { commonArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";
import { writeMetricsAfterRun } from "./_metrics.ts";
import { configArgsOf, guarded } from "./_run-guard.ts";

export default defineCommand({
  meta: { name: "stats", description: "Report backup health per database; --check gives a verdict for monitors" },
  args: {
    ...commonArgs,
    name: { type: "positional", required: false, description: "Only this database", valueHint: "NAME" },
    check: { type: "boolean", description: "Print one line per problem (or `healthy`); exit 3 when unhealthy" },
    local: { type: "boolean", description: "Leave out the [[destination]]s (do not contact them)" },
    html: {
      type: "string",
      description:
        "Write a self-contained HTML status page to FILE, atomically (with --check, default: the config's status_page)",
      valueHint: "FILE",
    },
    prometheus: {
      type: "boolean",
      description: "Print the metrics in the Prometheus text format (docs/prometheus.md)",
    },
  },
  run: guarded(async ({ args }, guard) => {
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
    // The scheduled health job (`stats --check`) also rewrites the configured status page.
    const html =
      args.html === undefined ? (args.check ? (config.statusPage ?? undefined) : undefined) : String(args.html);
    if (html !== undefined && (html === "" || html === "true"))
      throw new UsageError("--html needs a file name", "e.g. sqlbak stats --html /var/www/sqlbak/index.html");
    if (!args.check && !html) {
      printData(ctx, { ...report }, () => renderStats(report));
      return;
    }
    // The health job's monitor: `stats --check` over every database; unhealthy is a failure (exit 3).
    await guard.begin(ctx, { job: "health", pingJob: !args.name, timeout: false, configArgs: configArgsOf(args) });
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
    if (html) {
      try {
        writeStatusPage(html, { report, problems, listings, version: SQLBAK_VERSION, staleAfterMs: config.maxAgeMs });
        ctx.logger.info(`wrote status page ${html}`);
      } catch (err) {
        // The health job must still give (and send) its verdict: a page it cannot write is one more problem.
        if (!args.check) throw err;
        problems.push(describeError(err));
      }
      if (!args.check) return;
    }
    const scope = healthScope(args.name, Boolean(args.local));
    for (const w of await sendNotifications(config, healthNotifications(config, problems, scope))) ctx.logger.warn(w);
    // Under --quiet a healthy verdict prints nothing, so cron mails only problems.
    if (problems.length === 0 && ctx.quiet && !ctx.json) return;
    printData(ctx, { healthy: problems.length === 0, problems, report }, () =>
      problems.length ? problems.join("\n") : "healthy",
    );
    if (problems.length === 0) return;
    throw new OutcomeError(`${problems.length} health problem${problems.length > 1 ? "s" : ""}`, EXIT.unhealthy);
  }),
  // The scheduled health job (`stats --check`) refreshes metrics_file too; plain `stats` only reads.
  cleanup: (c) => (c.args.check ? writeMetricsAfterRun(c) : undefined),
});
