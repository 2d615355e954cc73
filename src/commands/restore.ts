import { defineCommand } from "citty";
import { listDatabases } from "../lib/catalog.ts";
import { assertDecryptable, loadDecryptionKeys } from "../lib/encryption.ts";
import { UsageError } from "../lib/errors.ts";
import { type RestoreResult, runRestore } from "../lib/restore.ts";
import { type BackupSelector, describePlan, parseRestoreSelector, planRestore, selectBackup } from "../lib/restore-plan.ts";
import { databaseOfId } from "../lib/verify-select.ts";
import { commonArgs, dryRunArgs, identityArgs } from "./_args.ts";
import { type CommandContext, openContext, printData } from "./_context.ts";

export default defineCommand({
  meta: { name: "restore", description: "Restore a backup over its database (or to another path), keeping a way back" },
  args: {
    ...commonArgs,
    ...dryRunArgs,
    ...identityArgs,
    name: { type: "positional", required: false, description: "Database to restore (asked on a TTY when missing)", valueHint: "NAME" },
    id: { type: "string", description: "Restore this backup", valueHint: "ID" },
    at: { type: "string", description: "Restore the newest backup at or before TIME (ISO, \"2h ago\", \"yesterday 18:00\")", valueHint: "TIME" },
    latest: { type: "boolean", description: "Restore the newest backup" },
    to: { type: "string", description: "Restore to this file instead; the configured database is not touched", valueHint: "PATH" },
    yes: { type: "boolean", alias: "y", description: "Do not ask for confirmation (required without a TTY)" },
    force: { type: "boolean", description: "Replace the database even if it is in use, or an existing --to file" },
  },
  async run({ args }) {
    const ctx = openContext(args);
    const now = new Date();
    const selector = parseRestoreSelector({ id: args.id, at: args.at, latest: args.latest }, now);
    const dryRun = Boolean(args["dry-run"]);
    const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
    let name = databaseName(args.name as string | undefined, selector);
    if (!interactive) requireScriptArgs(name, selector, Boolean(args.yes) || dryRun);
    // Loaded only on a TTY: scripts never touch the prompt library.
    const prompts = interactive ? await import("./_restore-prompts.ts") : null;
    name ??= await prompts!.pickDatabase(listDatabases(ctx.config));
    const [listing] = listDatabases(ctx.config, name);
    for (const p of listing!.problems) ctx.logger.warn(`skipped ${p}`);
    const backup = selector ? selectBackup(listing!.backups, selector) : await prompts!.pickBackup(listing!.backups, now);
    const keys = loadDecryptionKeys(args.identity, ctx.config.encryption);
    await assertDecryptable(backup, keys);
    const plan = planRestore(ctx.config, backup, { to: args.to, force: Boolean(args.force), keys });
    if (dryRun) {
      const lines = describePlan(plan);
      printData(ctx, { dry_run: true, id: backup.manifest.id, target: plan.target, target_exists: plan.targetExists, pre_restore: Boolean(plan.preRestore) }, () => `would restore:\n  ${lines.join("\n  ")}`);
      return;
    }
    if (!args.yes) await prompts!.confirmPlan(plan);
    const result = await runRestore(ctx.config, plan, (step) => ctx.logger.info(step));
    report(ctx, result);
  },
});

/** The database named by NAME and/or --id; they must agree. */
function databaseName(name: string | undefined, selector: BackupSelector | null): string | undefined {
  const fromId = selector?.kind === "id" ? databaseOfId(selector.id) : undefined;
  if (name && fromId && name !== fromId) throw new UsageError(`backup ${(selector as { id: string }).id} belongs to "${fromId}", not "${name}"`);
  return name ?? fromId;
}

/** Without a TTY nothing can be asked: everything must be on the command line. */
function requireScriptArgs(name: string | undefined, selector: BackupSelector | null, confirmed: boolean): void {
  const missing = [
    !name && "a database NAME (or --id)",
    !selector && "a backup selector (--id, --at or --latest)",
    !confirmed && "--yes to confirm",
  ].filter(Boolean);
  if (missing.length === 0) return;
  throw new UsageError(`not a terminal, so restore cannot ask; missing ${missing.join(", ")}`, "e.g. sqlbak restore app --latest --yes (add --dry-run to see the plan first)");
}

function report(ctx: CommandContext, r: RestoreResult): void {
  if (r.forcedPastUsers) ctx.logger.warn(`${r.target} was in use (${r.forcedPastUsers}); those processes still have the replaced file open: restart them`);
  for (const f of r.removedFiles) ctx.logger.debug(`removed ${f}`);
  ctx.logger.success(`restored ${r.id} to ${r.target} (quick_check ok, ${(r.durationMs / 1000).toFixed(1)}s)`);
  if (r.preRestoreId) {
    ctx.logger.info(`the previous database was saved as pre-restore backup ${r.preRestoreId}`);
    ctx.logger.info(`to undo: ${r.undo}`);
  } else ctx.logger.info(`${r.target} did not exist before, so there was nothing to save; to undo, delete it`);
  if (ctx.json) printData(ctx, r, () => "");
}
