import { defineCommand } from "citty";
import { findDestination, listFrom, withBackend } from "../lib/destinations/index.ts";
import { backupToJson, keptCopyToJson, packFailuresOfListings, renderBackupTable } from "../lib/output/index.ts";
import { configuredKeptCopies, describeProblem, listDatabases } from "../lib/store/index.ts";
import { commonArgs } from "./_args.ts";
import { fromArgs } from "./_args-from.ts";
import { openContext, printData } from "./_context.ts";

export default defineCommand({
  meta: { name: "list", description: "List the backups of each database (or of one)" },
  args: {
    ...commonArgs,
    ...fromArgs,
    name: { type: "positional", required: false, description: "Only this database", valueHint: "NAME" },
  },
  async run({ args }) {
    const ctx = openContext(args);
    const dest = args.from !== undefined ? findDestination(ctx.config, args.from) : null;
    const listings = dest
      ? await withBackend(dest, (b) => listFrom(b, dest, args.name))
      : await listDatabases(ctx.config, args.name);
    for (const l of listings) for (const p of l.problems) ctx.logger.warn(`skipped ${describeProblem(p)}`);
    const backups = listings.flatMap((l) => l.backups);
    // Restore's kept copies are beside the databases, never at a destination.
    const kept = dest ? [] : configuredKeptCopies(ctx.config, args.name);
    if (backups.length + kept.length === 0 && !ctx.json) {
      ctx.logger.info(`no backups ${dest ? `at destination ${dest.name}` : `under ${ctx.config.backupDir}`}`);
      return;
    }
    // A pack that failed its newest verification fails every backup of its folder that references it.
    const failures = packFailuresOfListings(listings);
    printData(
      ctx,
      {
        backups: backups.map((b) => backupToJson(b, failures.get(b.manifest.id))),
        pre_restore_files: kept.map(keptCopyToJson),
      },
      () => renderBackupTable(backups, new Date(), failures, kept),
    );
  },
});
