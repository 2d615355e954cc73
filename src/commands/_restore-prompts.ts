/**
 * The interactive part of `restore` (TTY only): pick the database, pick the
 * backup, see the plan, confirm. Escape or Ctrl-C at any prompt cancels with
 * nothing changed (exit 1, "restore cancelled").
 */
import { confirm, isCancel, log, note, select } from "@clack/prompts";
import { formatAge, formatBytes, formatLocalTime, latestVerification, OperationError } from "../lib/model/index.ts";
import { describePlan, type RestorePlan } from "../lib/restore/index.ts";
import type { FolderListing, StoredBackup } from "../lib/store/index.ts";

/** Prompts go to stderr: stdout is for data (stdout carries data only). */
const io = { output: process.stderr };

function cancelled(): never {
  throw new OperationError("restore cancelled; nothing was changed");
}

function unwrap<T>(value: T): Exclude<T, symbol> {
  if (isCancel(value)) cancelled();
  return value as Exclude<T, symbol>;
}

/** Asks which database to restore; with only one that has backups, says so and takes it. */
export async function pickDatabase(listings: FolderListing[], listCommand: string): Promise<string> {
  const withBackups = listings.filter((l) => l.backups.length > 0);
  if (withBackups.length === 0)
    throw new OperationError("there are no backups to restore", { hint: `see \`${listCommand}\`` });
  if (withBackups.length === 1) {
    log.info(`database: ${withBackups[0]!.database}`, io);
    return withBackups[0]!.database;
  }
  const options = withBackups.map((l) => ({
    value: l.database,
    label: l.database,
    hint: `${l.backups.length} backups, newest ${formatLocalTime(new Date(l.backups.at(-1)!.manifest.created_at))}`,
  }));
  return unwrap(await select({ message: "Which database?", options, ...io }));
}

/** `2026-11-22 06:07:08  3h ago  manual  tags  1.2 MiB  verified ok 2d ago`. */
export function backupLabel(b: StoredBackup, now: Date): string {
  const m = b.manifest;
  const created = new Date(m.created_at);
  const last = latestVerification(m);
  const verified = last
    ? `${last.ok ? "verified ok" : "verify FAILED"} ${formatAge(new Date(last.at), now)}`
    : "never verified";
  return [
    formatLocalTime(created),
    formatAge(created, now),
    m.kind,
    m.tags.join(",") || "-",
    formatBytes(m.raw.size),
    verified,
  ].join("  ");
}

/** Asks which backup, newest first. */
export async function pickBackup(backups: StoredBackup[], now: Date, listCommand: string): Promise<StoredBackup> {
  if (backups.length === 0)
    throw new OperationError("there are no backups of this database to restore", { hint: `see \`${listCommand}\`` });
  const newestFirst = [...backups].reverse();
  const options = newestFirst.map((b) => ({ value: b.manifest.id, label: backupLabel(b, now), hint: b.manifest.id }));
  const id = unwrap(await select({ message: "Which backup?", options, maxItems: 12, ...io }));
  return newestFirst.find((b) => b.manifest.id === id)!;
}

/** Shows the plan and asks for confirmation (default: no). */
export async function confirmPlan(plan: RestorePlan): Promise<void> {
  note(describePlan(plan).join("\n"), "Restore plan", io);
  const what = plan.targetExists
    ? `Replace ${plan.target} with this backup?`
    : `Create ${plan.target} from this backup?`;
  if (!unwrap(await confirm({ message: what, initialValue: false, ...io }))) cancelled();
}
