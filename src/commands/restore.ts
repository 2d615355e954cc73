import { defineCommand } from "citty";
import { loadDecryptionKeys } from "../lib/codec/index.ts";
import { findDestination, listFrom, withBackend } from "../lib/destinations/index.ts";
import { suggestCommand, UsageError } from "../lib/model/index.ts";
import { restoreResultToJson } from "../lib/output/index.ts";
import {
  type BackupSelector,
  checkRestoreKeys,
  describePlan,
  parseRestoreCheck,
  parseRestoreSelector,
  performRestore,
  planRestore,
  type RestoredPermissions,
  type RestoreResult,
  runKeptRestore,
  selectBackup,
} from "../lib/restore/index.ts";
import { type Backend, describeProblem, type FolderListing, listDatabases } from "../lib/store/index.ts";
import { databaseOfId } from "../lib/verify/index.ts";
import { commonArgs, dryRunArgs, identityArgs } from "./_args.ts";
import { fromArgs } from "./_args-from.ts";
import { type CommandContext, openContext, printData } from "./_context.ts";
import { writeMetricsAfterRun } from "./_metrics.ts";
import { progressFor } from "./_progress.ts";

export default defineCommand({
  meta: { name: "restore", description: "Restore a backup over its database (or to another path), keeping a way back" },
  args: {
    ...commonArgs,
    ...dryRunArgs,
    ...identityArgs,
    name: {
      type: "positional",
      required: false,
      description: "Database to restore (asked on a TTY when missing)",
      valueHint: "NAME",
    },
    id: { type: "string", description: "Restore this backup", valueHint: "ID" },
    at: {
      type: "string",
      description: 'Restore the newest backup at or before TIME (ISO, "2h ago", "yesterday 18:00")',
      valueHint: "TIME",
    },
    latest: { type: "boolean", description: "Restore the newest backup" },
    file: {
      type: "string",
      description: "Put this kept pre-restore copy (NAME.db.pre-restore-TIME beside the target) back: the undo",
      valueHint: "PATH",
    },
    to: {
      type: "string",
      description: "Restore to this file instead; the configured database is not touched",
      valueHint: "PATH",
    },
    yes: { type: "boolean", alias: "y", description: "Do not ask for confirmation (required without a TTY)" },
    ...fromArgs,
    check: {
      type: "string",
      description:
        "How the copy is proven before the swap: checksum (SHA-256 against the backup's; the default), " +
        'quick (and quick_check; the default for backups taken with check = "none"), full (and integrity_check)',
      valueHint: "checksum|quick|full",
    },
    "pre-restore": {
      type: "string",
      description:
        "The safety copy of the replaced database: keep (the file itself, renamed beside it, when nobody " +
        "uses it; the default) or backup (a pre-restore backup in the backup folder); overrides pre_restore",
      valueHint: "keep|backup",
    },
    force: { type: "boolean", description: "Replace the database even if it is in use, or an existing --to file" },
  },
  async run({ args, rawArgs }) {
    const ctx = openContext(args);
    if (args.file !== undefined) return restoreKept(ctx, args);
    const now = new Date();
    const selector = parseRestoreSelector({ id: args.id, at: args.at, latest: args.latest }, now);
    const check = parseRestoreCheck(args.check);
    const dryRun = Boolean(args["dry-run"]);
    const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
    let name = databaseName(args.name as string | undefined, selector);
    if (!interactive) requireScriptArgs(["restore", ...rawArgs], name, selector, Boolean(args.yes) || dryRun);
    // Loaded only on a TTY: scripts never touch the prompt library.
    const prompts = interactive ? await import("./_restore-prompts.ts") : null;
    const dest = args.from !== undefined ? findDestination(ctx.config, args.from) : null;
    const keys = loadDecryptionKeys(args.identity, ctx.config.encryption);
    const run = async (backend: Backend | null) => {
      const listAll = (n?: string): Promise<FolderListing[]> =>
        backend ? listFrom(backend, dest!, n) : Promise.resolve(listDatabases(ctx.config, n));
      name ??= await prompts!.pickDatabase(await listAll(), listCommand(args, undefined));
      const [listing] = await listAll(name);
      for (const p of listing!.problems) ctx.logger.warn(`skipped ${describeProblem(p)}`);
      const list = listCommand(args, name);
      const backup = selector
        ? selectBackup(listing!.backups, selector, list)
        : await prompts!.pickBackup(listing!.backups, now, list);
      await checkRestoreKeys(backup, keys, backend !== null);
      const plan = planRestore(ctx.config, backup, {
        to: args.to,
        force: Boolean(args.force),
        keys,
        carry: carriedOptions(args),
        from: args.from,
        check,
        preRestoreMode: parsePreRestoreMode(args["pre-restore"]),
      });
      if (dryRun) {
        const lines = describePlan(plan);
        printData(
          ctx,
          {
            dry_run: true,
            id: backup.manifest.id,
            from: dest?.name ?? null,
            target: plan.target,
            target_exists: plan.targetExists,
            pre_restore: Boolean(plan.preRestore),
            check: plan.check,
          },
          () => `would restore${dest ? ` from ${dest.name}` : ""}:\n  ${lines.join("\n  ")}`,
        );
        return;
      }
      if (!args.yes) await prompts!.confirmPlan(plan);
      const from = backend ? { backend, destination: dest!.name } : null;
      const progress = progressFor(ctx);
      const onStep = (step: string) => ctx.logger.info(step);
      const result = await performRestore(ctx.config, plan, {
        from,
        keys,
        onStep,
        onProgress: progress.update,
      }).finally(() => progress.done());
      report(ctx, result);
    };
    await (dest ? withBackend(dest, run) : run(null));
  },
  cleanup: writeMetricsAfterRun,
});

/** `--file`: the undo of a restore that kept the file it replaced; nothing to choose or ask. */
async function restoreKept(
  ctx: CommandContext,
  args: { name?: string; file?: string; to?: string; force?: boolean; yes?: boolean; id?: string; at?: string } & {
    latest?: boolean;
    config?: string;
    "backup-dir"?: string;
    identity?: string;
  },
): Promise<void> {
  if (args.id !== undefined || args.at !== undefined || args.latest)
    throw new UsageError("--file restores a kept copy: give no --id, --at or --latest with it");
  if (!args.name) throw new UsageError("--file needs the database NAME whose kept copy it is");
  if (!args.yes) throw new UsageError("--file replaces the database without asking: add --yes");
  const result = await runKeptRestore(ctx.config, {
    database: args.name,
    file: args.file!,
    to: args.to,
    force: Boolean(args.force),
    carry: carriedOptions(args),
  });
  report(ctx, result);
}

/** --pre-restore; undefined when not given (then `pre_restore` from the config decides). */
function parsePreRestoreMode(value: string | undefined): "keep" | "backup" | undefined {
  if (value === undefined || value === "keep" || value === "backup") return value;
  throw new UsageError(`--pre-restore must be keep or backup, not "${value}"`);
}

/** The database named by NAME and/or --id; they must agree. */
function databaseName(name: string | undefined, selector: BackupSelector | null): string | undefined {
  const fromId = selector?.kind === "id" ? databaseOfId(selector.id) : undefined;
  if (name && fromId && name !== fromId)
    throw new UsageError(`backup ${(selector as { id: string }).id} belongs to "${fromId}", not "${name}"`);
  return name ?? fromId;
}

/** Without a TTY nothing can be asked: everything must be on the command line. */
function requireScriptArgs(
  argv: string[],
  name: string | undefined,
  selector: BackupSelector | null,
  confirmed: boolean,
): void {
  const missing = [
    !name && "a database NAME (or --id)",
    !selector && "a backup selector (--id, --at or --latest)",
    !confirmed && "--yes to confirm",
  ].filter(Boolean);
  if (missing.length === 0) return;
  // The suggestion is the user's own command line plus what is missing: never a different target.
  const add = [...(name ? [] : ["NAME"]), ...(selector ? [] : ["--latest"])];
  const hint =
    `e.g. ${suggestCommand(argv, [...add, ...(confirmed ? [] : ["--yes"])])}` +
    `${name ? "" : " (NAME: the database to restore)"}; ` +
    `to see the plan first: ${suggestCommand(argv, [...add, "--dry-run"])}`;
  throw new UsageError(`not a terminal, so restore cannot ask; missing ${missing.join(", ")}`, hint);
}

/** `sqlbak list [NAME]` reading what this restore reads: the same config, backup folder and destination. */
function listCommand(
  args: { config?: string; "backup-dir"?: string; from?: string },
  name: string | undefined,
): string {
  const where = (["config", "backup-dir", "from"] as const).flatMap((k) =>
    args[k] !== undefined ? [`--${k}`, args[k]!] : [],
  );
  return suggestCommand(["list", ...(name ? [name] : []), ...where]);
}

/**
 * The options the undo command must repeat: it reads the same config, backup folder and key
 * (never --from: the pre-restore backup is local).
 */
function carriedOptions(args: { config?: string; "backup-dir"?: string; identity?: string }): string[] {
  return (["config", "backup-dir", "identity"] as const).flatMap((k) =>
    args[k] !== undefined ? [`--${k}`, args[k]!] : [],
  );
}

const PERMISSIONS_FROM = {
  replaced: "as the file it replaced",
  backup: "as recorded at backup time",
  folder: "from the folder's owner and the umask (this backup recorded none)",
};

const PROOF = {
  checksum: "SHA-256 matches the backup",
  quick: "SHA-256 matches the backup, quick_check ok",
  full: "SHA-256 matches the backup, integrity_check ok",
  kept: "the kept file itself, renamed back",
};

function describePermissions(p: RestoredPermissions): string {
  return `mode ${p.mode.toString(8).padStart(4, "0")}, owner ${p.uid}:${p.gid}, ${PERMISSIONS_FROM[p.from]}`;
}

function report(ctx: CommandContext, r: RestoreResult): void {
  if (r.forcedPastUsers)
    ctx.logger.warn(
      `${r.target} was in use (${r.forcedPastUsers}); those processes still have the replaced file open: restart them`,
    );
  for (const f of r.removedFiles) ctx.logger.debug(`removed ${f}`);
  ctx.logger.success(`restored ${r.id} to ${r.target} (${PROOF[r.check]}, ${(r.durationMs / 1000).toFixed(1)}s)`);
  if (r.permissions) ctx.logger.info(describePermissions(r.permissions));
  if (r.preRestoreFile) {
    ctx.logger.info(`the previous database was kept beside it as ${r.preRestoreFile} (pre-restore safety copy)`);
    ctx.logger.info(`to undo: ${r.undo}`);
  } else if (r.preRestoreId) {
    ctx.logger.info(`the previous database was saved as pre-restore backup ${r.preRestoreId}`);
    ctx.logger.info(`to undo: ${r.undo}`);
  } else if (r.check === "kept")
    ctx.logger.info(`${r.target} was in use, so it was not kept (--force); it is replaced`);
  else ctx.logger.info(`${r.target} did not exist before, so there was nothing to save; to undo, delete it`);
  for (const w of r.notifyWarnings) ctx.logger.warn(w);
  if (ctx.json) printData(ctx, restoreResultToJson(r), () => "");
}
