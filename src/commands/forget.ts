import { defineCommand } from "citty";
import { formatBytes, UsageError } from "../lib/model/index.ts";
import { forgetBackups } from "../lib/retention/index.ts";
import { commonArgs, dryRunArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";

export default defineCommand({
  meta: {
    name: "forget",
    description: "Remove backups by id (every destination follows on its next sync)",
  },
  args: {
    ...commonArgs,
    ...dryRunArgs,
    force: { type: "boolean", description: "Also forget the last good backup of a database" },
    id: { type: "positional", required: false, description: "Backup ids (see `sqlbak list`)", valueHint: "ID…" },
  },
  async run({ args }) {
    const ctx = openContext(args);
    const ids = args._.map(String);
    if (ids.length === 0) throw new UsageError("forget needs at least one backup id", "see `sqlbak list` for the ids");
    const dryRun = Boolean(args["dry-run"]);
    const results = await forgetBackups(ctx.config, ids, {
      dryRun,
      force: Boolean(args.force),
      onLockWait: (db, owner) =>
        ctx.logger.info(
          `${db}: waiting for the lock held by ${owner ? `${owner.command} (pid ${owner.pid})` : "another run"}`,
        ),
    });
    const verb = dryRun ? "would remove" : "removed";
    const lines = results.flatMap((r) => [
      ...r.removed.map((b) => `${verb} ${b.id} (${formatBytes(b.stored_size)})`),
      ...(r.freed.length
        ? [
            `${r.database}: ${dryRun ? "would free" : "freed"} ${r.freed.length} unreferenced pack files, ${formatBytes(r.freed_bytes)}`,
          ]
        : []),
      ...(r.pieces_waiting.length
        ? [
            `${r.database}: ${r.pieces_waiting.length} unreferenced pack files (${formatBytes(
              r.pieces_waiting.reduce((n, p) => n + p.size, 0),
            )}) are under an hour old: a later backup or rotate frees them`,
          ]
        : []),
    ]);
    if (ctx.json) printData(ctx, { results }, () => "");
    else for (const l of lines) ctx.logger.info(l);
    for (const r of results) for (const w of r.warnings) ctx.logger.warn(w);
  },
});
