import { defineCommand } from "citty";
import {
  type BackupResult,
  runScheduledBackup,
  type ScheduledBackupResult,
  scheduledBackupFailure,
} from "../lib/backup/index.ts";
import { type BackupKind, describeShrink, formatBytes, OutcomeError, UsageError } from "../lib/model/index.ts";
import { backupResultToJson, rotateToJson } from "../lib/output/index.ts";
import { KEEP_TAG } from "../lib/retention/index.ts";
import { resolveBackupTargets } from "../lib/store/index.ts";
import { commonArgs, dryRunArgs } from "./_args.ts";
import { type CommandContext, openContext, printData } from "./_context.ts";
import { reportCopies } from "./_copies.ts";
import { parallelArgs, parseParallel, reportFleetSummary, reportVanished } from "./_fleet.ts";
import { writeMetricsAfterRun } from "./_metrics.ts";
import { progressFor } from "./_progress.ts";
import { reportRotations } from "./_rotate-report.ts";
import { configArgsOf, guarded, timeoutArgs } from "./_run-guard.ts";

export default defineCommand({
  meta: { name: "backup", description: "Take a consistent backup of each database (default: all configured)" },
  args: {
    ...commonArgs,
    ...dryRunArgs,
    ...timeoutArgs,
    target: {
      type: "positional",
      required: false,
      description: "Database names from the config, or paths to database files",
      valueHint: "NAME|PATH",
    },
    tag: { type: "string", description: "Tags for the backup, comma-separated", valueHint: "TAG[,TAG]" },
    kind: {
      type: "enum",
      options: ["manual", "scheduled"],
      description: "Kind recorded in the manifest (default: manual)",
      valueHint: "KIND",
    },
    rotate: {
      type: "boolean",
      description: "Record the backup as scheduled, then apply retention to each database backed up successfully",
    },
    ...parallelArgs,
    pin: { type: "boolean", description: `Tag the backup "${KEEP_TAG}": rotation never removes it` },
    "accept-shrink": {
      type: "boolean",
      description:
        "The database shrank on purpose: record it, stop keeping the backup from before the shrink " +
        "and clear the health problem",
    },
  },
  run: guarded(async ({ args, rawArgs }, guard) => {
    const ctx = openContext(args);
    const tags = parseTags(args.tag);
    if (args.pin && !tags.includes(KEEP_TAG)) tags.push(KEEP_TAG);
    if (args.rotate && args.kind === "manual")
      throw new UsageError("--rotate records the backup as scheduled; drop --kind manual");
    const parallel = parseParallel(args.parallel);
    const targets = resolveBackupTargets(ctx.config, args._, ["backup", ...rawArgs]);
    const progress = progressFor(ctx);
    // The job's monitor hears from runs over every configured database; a one-off `backup NAME` is not the job.
    const pingJob = !args["dry-run"] && args._.length === 0;
    const startedMs = Date.now();
    await guard.begin(ctx, { job: "backup", pingJob, timeout: args.timeout, configArgs: configArgsOf(args) });
    // Copies never change the exit code: the local backup stands; failures are warned, logged and notified.
    const result = await runScheduledBackup(ctx.config, targets, {
      kind: (args.rotate ? "scheduled" : (args.kind ?? "manual")) as BackupKind,
      tags,
      dryRun: Boolean(args["dry-run"]),
      acceptShrink: Boolean(args["accept-shrink"]),
      rotate: Boolean(args.rotate),
      parallel,
      onProgress: progress.update,
      onLockWait: (db, owner) =>
        ctx.logger.info(
          `${db}: waiting for the lock held by ${owner ? `${owner.command} (pid ${owner.pid})` : "another run"}`,
        ),
      onStep: (m) => ctx.logger.debug(m),
      onStage: () => progress.done(),
      onDatabase: (p) => guard.onDatabase(p),
    });
    for (const w of result.notifyWarnings) ctx.logger.warn(w);
    // A run over the whole config says which discovered databases are gone (their backups stay).
    if (pingJob) await reportVanished(ctx, ctx.config);
    report(ctx, result, { parallel, startedMs });
  }),
  cleanup: writeMetricsAfterRun,
});

function parseTags(raw: string | undefined): string[] {
  const tags = (raw ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  const bad = tags.find((t) => !/^[A-Za-z0-9._:-]{1,64}$/.test(t));
  if (bad) throw new UsageError(`invalid tag "${bad}"`, "tags use letters, digits, . _ : and -, at most 64 characters");
  return [...new Set(tags)];
}

function report(
  ctx: CommandContext,
  result: ScheduledBackupResult,
  run: { parallel: number; startedMs: number },
): void {
  const { backups: results, copies, rotations } = result;
  for (const r of results) {
    for (const w of r.warnings) ctx.logger.warn(w);
    for (const n of r.notes) ctx.logger.info(n);
    for (const p of r.removedPartials) ctx.logger.info(`${r.database}: removed stale partial file ${p}`);
    if (!r.ok && results.length > 1) ctx.logger.error(`${r.database}: backup failed: ${r.error}`);
    else if (!r.ok) continue;
    else if (r.dryRun)
      ctx.logger.info(
        `${r.database}: would back up ${r.source} to ${r.dataPath}` +
          (r.format === "pages" ? " (incremental: only the pages not already stored, in new packs beside it)" : ""),
      );
    else
      ctx.logger.success(
        `${r.database}: ${r.id} (${formatBytes(r.rawSize!)} → ${formatBytes(r.storedSize!)}, ` +
          `${(r.durationMs / 1000).toFixed(1)}s)`,
      );
    if (r.ok && r.shrunk && r.shrinkAccepted) ctx.logger.info(describeShrink(r.database, r.rawSize!, r.shrunk, true));
    else if (r.ok && r.shrunk) ctx.logger.warn(describeShrink(r.database, r.rawSize!, r.shrunk));
  }
  reportFleetSummary(ctx, results, run);
  reportCopies(ctx, copies);
  if (rotations) reportRotations(ctx, rotations, false);
  const rotationOf = (r: BackupResult) => (r.ok ? rotations?.find((x) => x.database === r.database) : undefined);
  const toJson = (r: BackupResult) =>
    backupResultToJson(r, {
      rotation: rotations ? (rotationOf(r) ? rotateToJson(rotationOf(r)!) : null) : undefined,
      copies: copies.length ? copies.filter((c) => c.database === r.database) : undefined,
    });
  if (ctx.json) printData(ctx, { results: results.map(toJson) }, () => "");
  const failure = scheduledBackupFailure(result);
  if (!failure) return;
  if (failure.rotationError) ctx.logger.error(failure.rotationError);
  throw new OutcomeError(failure.message, failure.code);
}
