import { defineCommand } from "citty";
import { IDENTITY_ENV } from "../lib/codec/index.ts";
import { checkHealth, gatherDestinationStats, gatherStats, healthNotification } from "../lib/health/index.ts";
import { EXIT, OutcomeError } from "../lib/model/index.ts";
import { sendNotifications } from "../lib/notify/index.ts";
import { renderStats } from "../lib/output/index.ts";
import { listDatabases } from "../lib/store/index.ts";
import { commonArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";
import { configArgsOf, guarded } from "./_run-guard.ts";

export default defineCommand({
  meta: { name: "stats", description: "Report backup health per database; --check gives a verdict for monitors" },
  args: {
    ...commonArgs,
    name: { type: "positional", required: false, description: "Only this database", valueHint: "NAME" },
    check: { type: "boolean", description: "Print one line per problem (or `healthy`); exit 3 when unhealthy" },
    local: { type: "boolean", description: "Leave out the [[destination]]s (do not contact them)" },
  },
  run: guarded(async ({ args }, guard) => {
    const ctx = openContext(args);
    const { config } = ctx;
    const listings = await listDatabases(config, args.name);
    // Configured databases without a folder yet still count: "no backups" is a problem to report.
    const report = gatherStats(config, listings);
    if (config.destinations.length > 0 && !args.local)
      report.destinations = await gatherDestinationStats(config, listings);
    if (!args.check) {
      printData(ctx, report, () => renderStats(report));
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
    // Under --quiet a healthy verdict prints nothing, so cron mails only problems.
    if (problems.length === 0 && ctx.quiet && !ctx.json) return;
    printData(ctx, { healthy: problems.length === 0, problems, report }, () =>
      problems.length ? problems.join("\n") : "healthy",
    );
    if (problems.length === 0) return;
    for (const w of await sendNotifications(config, [healthNotification(problems)])) ctx.logger.warn(w);
    throw new OutcomeError(`${problems.length} health problem${problems.length > 1 ? "s" : ""}`, EXIT.unhealthy);
  }),
});
