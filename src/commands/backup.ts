import { defineCommand } from "citty";
import { type BackupResult, backupNotification, runBackups, shrinkNotification } from "../lib/backup/index.ts";
import type { CopyResult } from "../lib/destinations/index.ts";
import { type BackupKind, describeShrink, EXIT, formatBytes, OutcomeError, UsageError } from "../lib/model/index.ts";
import { sendNotifications } from "../lib/notify/index.ts";
import { rotateToJson } from "../lib/output/index.ts";
import { KEEP_TAG, type RotateResult, runRotations } from "../lib/retention/index.ts";
import { resolveBackupTargets } from "../lib/store/index.ts";
import { commonArgs, dryRunArgs } from "./_args.ts";
import { type CommandContext, openContext, printData } from "./_context.ts";
import { copyToDestinations, reportCopies } from "./_copies.ts";
import { createProgress } from "./_progress.ts";
import { loneRotationFailure, reportRotations } from "./_rotate-report.ts";

export default defineCommand({
  meta: { name: "backup", description: "Take a consistent backup of each database (default: all configured)" },
  args: {
    ...commonArgs,
    ...dryRunArgs,
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
    pin: { type: "boolean", description: `Tag the backup "${KEEP_TAG}": rotation never removes it` },
    "accept-shrink": {
      type: "boolean",
      description:
        "The database shrank on purpose: record it, stop keeping the backup from before the shrink and clear the health problem",
    },
  },
  async run({ args, rawArgs }) {
    const ctx = openContext(args);
    const tags = parseTags(args.tag);
    if (args.pin && !tags.includes(KEEP_TAG)) tags.push(KEEP_TAG);
    if (args.rotate && args.kind === "manual")
      throw new UsageError("--rotate records the backup as scheduled; drop --kind manual");
    const targets = resolveBackupTargets(ctx.config, args._, ["backup", ...rawArgs]);
    const progress = createProgress(Boolean(process.stderr.isTTY) && !ctx.quiet && !ctx.json);
    const results = await runBackups(ctx.config, targets, {
      kind: (args.rotate ? "scheduled" : (args.kind ?? "manual")) as BackupKind,
      tags,
      dryRun: Boolean(args["dry-run"]),
      acceptShrink: Boolean(args["accept-shrink"]),
      onProgress: (db, done, total) => progress.update(db, done, total),
      onLockWait: (db, owner) =>
        ctx.logger.info(
          `${db}: waiting for the lock held by ${owner ? `${owner.command} (pid ${owner.pid})` : "another run"}`,
        ),
    });
    progress.done();
    // Copies never change the exit code: the local backup stands; failures are warned, logged and notified.
    const copies = args["dry-run"]
      ? []
      : await copyToDestinations(
          ctx,
          results.map((r) => r.database),
        );
    // Never rotate after a failed backup: the newest good backup must not age out behind a failure.
    // The backups just taken are never removed by their own rotation (another backup may look newer: a wrong clock, a concurrent run).
    const protect = results.flatMap((r) => (r.ok && r.id ? [r.id] : []));
    const rotations = args.rotate
      ? await runRotations(
          ctx.config,
          results.filter((r) => r.ok).map((r) => r.database),
          { dryRun: Boolean(args["dry-run"]), protect },
        )
      : undefined;
    const rotated = (r: BackupResult) => rotations?.find((x) => x.database === r.database)?.removed.length;
    const notifications = results.filter((r) => !r.dryRun).map((r) => backupNotification(r, rotated(r)));
    for (const r of results) if (r.shrunk && !r.shrinkAccepted) notifications.push(shrinkNotification(r));
    for (const w of await sendNotifications(ctx.config, notifications)) ctx.logger.warn(w);
    report(ctx, results, copies, rotations);
  },
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

function report(ctx: CommandContext, results: BackupResult[], copies: CopyResult[], rotations?: RotateResult[]): void {
  for (const r of results) {
    for (const w of r.warnings) ctx.logger.warn(w);
    for (const p of r.removedPartials) ctx.logger.info(`${r.database}: removed stale partial file ${p}`);
    if (!r.ok && results.length > 1) ctx.logger.error(`${r.database}: backup failed: ${r.error}`);
    else if (!r.ok) continue;
    else if (r.dryRun) ctx.logger.info(`${r.database}: would back up ${r.source} to ${r.dataPath}`);
    else
      ctx.logger.success(
        `${r.database}: ${r.id} (${formatBytes(r.rawSize!)} → ${formatBytes(r.storedSize!)}, ${(r.durationMs / 1000).toFixed(1)}s)`,
      );
    if (r.ok && r.shrunk && r.shrinkAccepted) ctx.logger.info(describeShrink(r.database, r.rawSize!, r.shrunk, true));
    else if (r.ok && r.shrunk) ctx.logger.warn(describeShrink(r.database, r.rawSize!, r.shrunk));
  }
  reportCopies(ctx, copies);
  if (rotations) reportRotations(ctx, rotations, false);
  const rotationOf = (r: BackupResult) => (r.ok ? rotations?.find((x) => x.database === r.database) : undefined);
  const withRotation = (r: BackupResult) => ({ ...r, rotation: rotationOf(r) ? rotateToJson(rotationOf(r)!) : null });
  const withCopies = (r: BackupResult) =>
    copies.length ? { ...r, copies: copies.filter((c) => c.database === r.database) } : r;
  if (ctx.json) printData(ctx, (rotations ? results.map(withRotation) : results).map(withCopies), () => "");
  const failed = results.filter((r) => !r.ok);
  const failedRotations = rotations?.filter((r) => !r.ok) ?? [];
  const loneRotation = rotations ? loneRotationFailure(rotations) : undefined;
  if (failed.length === 0 && failedRotations.length > 0) {
    throw new OutcomeError(
      loneRotation ?? `${failedRotations.map((r) => r.database).join(", ")}: rotation failed`,
      failedRotations.some((r) => r.exitCode !== EXIT.locked) ? EXIT.failed : EXIT.locked,
    );
  }
  if (failed.length === 0) return;
  if (loneRotation) ctx.logger.error(loneRotation);
  const code = failed.some((r) => r.exitCode !== EXIT.locked) ? EXIT.failed : EXIT.locked;
  const only = results.length === 1 ? failed[0] : undefined;
  throw new OutcomeError(
    only ? `${only.database}: backup failed: ${only.error}` : `${failed.length} of ${results.length} backups failed`,
    code,
  );
}
