/**
 * The scheduled pipeline, in one call: back up each database, copy what each
 * destination lacks, rotate (only the databases whose backup worked, never the
 * backups just taken), then send the notifications the config asks for. What
 * `sqlbak backup` prints and its exit code come from the typed result; nothing
 * here prints.
 */
import type { ResolvedConfig, ResolvedDatabase } from "../config/index.ts";
import { type CopyResult, syncDestinations } from "../destinations/index.ts";
import { EXIT, type ExitCode } from "../model/index.ts";
import { sendInBackground, sendNotifications } from "../notify/index.ts";
import { loneRotationFailure, type RotateResult, runRotations } from "../retention/index.ts";
import { runBackups } from "./as-configured.ts";
import type { BackupOptions, BackupResult } from "./backup-result.ts";
import { withHooks } from "./hooks.ts";
import { backupNotification, backupStartNotification, copyNotification, shrinkNotification } from "./notification.ts";
import { type DatabaseProgress, withDatabasePing } from "./ping.ts";

export interface ScheduledBackupOptions extends BackupOptions {
  /** Apply retention after the backups (`backup --rotate`). */
  rotate?: boolean;
  /**
   * Progress of the copies to destinations, one line per step (logged at debug level by the CLI);
   * their bytes go to `onProgress`, labelled `<database> → <destination>: copying <id>`.
   */
  onStep?: (message: string) => void;
  /** Called as each stage after the backups starts (a progress display ends when the backups do). */
  onStage?: (stage: "copy" | "rotate" | "notify") => void;
  /** How many databases are backed up at once (default 1: one after the other). */
  parallel?: number;
  /** Each database's backup starting and ending (a run timeout tracks it). */
  onDatabase?: (progress: DatabaseProgress) => void;
}

export interface ScheduledBackupResult {
  /** One per database, in the order given. */
  backups: BackupResult[];
  /** One per destination and database; empty without destinations and on a dry run. Never changes the exit code. */
  copies: CopyResult[];
  /** One per database whose backup worked; absent without `rotate`. */
  rotations?: RotateResult[];
  /**
   * Notifications that could not be delivered (each also in the op log): copy failures first,
   * then the backup events.
   */
  notifyWarnings: string[];
}

/**
 * Runs the pipeline for `targets`: one database failing never stops the
 * others, a copy failing never stops the rotation, and a database whose backup
 * failed is not rotated (its newest good backup must not age out behind a
 * failure). Rotation never removes a backup this run took: another backup may
 * look newer (a wrong clock, a concurrent run).
 */
export async function runScheduledBackup(
  config: ResolvedConfig,
  targets: ResolvedDatabase[],
  opts: ScheduledBackupOptions,
): Promise<ScheduledBackupResult> {
  // backup.start goes out beside the backups: a slow channel never holds them up.
  const started = sendInBackground(
    config,
    opts.dryRun ? [] : targets.map((db) => backupStartNotification(db, opts.kind)),
  );
  const backups = await runBackups(config, targets, opts, (db, run) =>
    withDatabasePing(config, db, opts.dryRun, opts.onDatabase, () => withHooks(config, db, opts, run)),
  );
  // Every start event is out before any event about how the backups went.
  const notifyWarnings: string[] = await started();
  const databases = backups.map((r) => r.database);
  opts.onStage?.("copy");
  const copies =
    opts.dryRun || config.destinations.length === 0 || databases.length === 0
      ? []
      : await syncDestinations(config, databases, {
          now: opts.now,
          onStep: opts.onStep,
          onProgress: opts.onProgress,
        });
  notifyWarnings.push(...(await sendNotifications(config, copies.filter((c) => !c.ok).map(copyNotification))));
  opts.onStage?.("rotate");
  const protect = backups.flatMap((r) => (r.ok && r.id ? [r.id] : []));
  const rotations = opts.rotate
    ? await runRotations(
        config,
        backups.filter((r) => r.ok).map((r) => r.database),
        { dryRun: opts.dryRun, now: opts.now, protect },
      )
    : undefined;
  opts.onStage?.("notify");
  const rotated = (r: BackupResult) => rotations?.find((x) => x.database === r.database)?.removed.length;
  const notifications = backups
    .filter((r) => !r.dryRun)
    .map((r) => ({ ...backupNotification(r, rotated(r)), ...(r.ok ? { kind: opts.kind } : {}) }));
  for (const r of backups) if (r.shrunk && !r.shrinkAccepted) notifications.push(shrinkNotification(r));
  notifyWarnings.push(...(await sendNotifications(config, notifications)));
  return { backups, copies, rotations, notifyWarnings };
}

/**
 * How a run that did not end well ends: the error to raise with its exit code, and a lone
 * rotation's failure to say first.
 */
export interface ScheduledBackupFailure {
  message: string;
  code: ExitCode;
  /** Said before `message` when backups failed too (a lone rotation's failure is otherwise said by no one). */
  rotationError?: string;
}

/**
 * The outcome of a run as an exit: undefined when every backup and rotation
 * worked (copies never count: the local backup stands); exit 4 when only locks
 * were in the way, else 1.
 */
export function scheduledBackupFailure(result: ScheduledBackupResult): ScheduledBackupFailure | undefined {
  const { backups, rotations } = result;
  const failed = backups.filter((r) => !r.ok);
  const failedRotations = rotations?.filter((r) => !r.ok) ?? [];
  const loneRotation = rotations ? loneRotationFailure(rotations) : undefined;
  if (failed.length === 0 && failedRotations.length > 0) {
    return {
      message: loneRotation ?? `${failedRotations.map((r) => r.database).join(", ")}: rotation failed`,
      code: failedRotations.some((r) => r.exitCode !== EXIT.locked) ? EXIT.failed : EXIT.locked,
    };
  }
  if (failed.length === 0) return undefined;
  const only = backups.length === 1 ? failed[0] : undefined;
  return {
    message: only
      ? `${only.database}: backup failed: ${only.error}`
      : `${failed.length} of ${backups.length} backups failed`,
    code: failed.some((r) => r.exitCode !== EXIT.locked) ? EXIT.failed : EXIT.locked,
    rotationError: loneRotation,
  };
}
