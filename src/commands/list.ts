import { defineCommand } from "citty";
import { listDatabases } from "../lib/catalog.ts";
import { backupToJson, renderBackupTable } from "../lib/output.ts";
import { commonArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";

export default defineCommand({
  meta: { name: "list", description: "List the backups of each database (or of one)" },
  args: {
    ...commonArgs,
    name: { type: "positional", required: false, description: "Only this database", valueHint: "NAME" },
  },
  run({ args }) {
    const ctx = openContext(args);
    const listings = listDatabases(ctx.config, args.name);
    for (const l of listings) for (const p of l.problems) ctx.logger.warn(`skipped ${p}`);
    const backups = listings.flatMap((l) => l.backups);
    if (backups.length === 0 && !ctx.json) {
      ctx.logger.info(`no backups under ${ctx.config.backupDir}`);
      return;
    }
    printData(ctx, backups.map(backupToJson), () => renderBackupTable(backups, new Date()));
  },
});
