import { defineCommand } from "citty";
import { UsageError } from "../lib/model/index.ts";
import { renderRotateTable, rotateToJson } from "../lib/output/index.ts";
import { runRotations } from "../lib/retention/index.ts";
import { knownDatabaseNames } from "../lib/store/index.ts";
import { commonArgs, dryRunArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";
import { writeMetricsAfterRun } from "./_metrics.ts";
import { reportRotations } from "./_rotate-report.ts";

export default defineCommand({
  meta: {
    name: "rotate",
    description: "Apply the retention policy: show every backup with keep/remove and why, then remove",
  },
  args: {
    ...commonArgs,
    ...dryRunArgs,
    name: { type: "positional", required: false, description: "Only this database", valueHint: "NAME" },
  },
  async run({ args }) {
    const ctx = openContext(args);
    const known = knownDatabaseNames(ctx.config);
    if (args.name !== undefined && !known.includes(args.name)) {
      throw new UsageError(
        `unknown database "${args.name}"`,
        known.length ? `known databases: ${known.join(", ")}` : "no database is configured and none has backups yet",
      );
    }
    const dryRun = Boolean(args["dry-run"]);
    const results = await runRotations(ctx.config, args.name ? [args.name] : known, {
      dryRun,
      onLockWait: (db, owner) =>
        ctx.logger.info(
          `${db}: waiting for the lock held by ${owner ? `${owner.command} (pid ${owner.pid})` : "another run"}`,
        ),
    });
    if (results.length === 0 && !ctx.json) {
      ctx.logger.info(`no backups under ${ctx.config.backupDir}`);
      return;
    }
    printData(ctx, { results: results.map(rotateToJson) }, () => renderRotateTable(results, dryRun));
    reportRotations(ctx, results);
  },
  cleanup: writeMetricsAfterRun,
});
