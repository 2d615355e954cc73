/**
 * The `--json` shapes of the results that are camelCase inside sqlbak (backup, verify, restore): each
 * field named once, in snake_case, here at the source (docs/json.md); a field left undefined is
 * absent from the output. Add fields; never rename one without bumping JSON_OUTPUT_VERSION.
 */
import type { BackupResult } from "../backup/index.ts";
import type { CopyResult } from "../destinations/index.ts";
import type { RestoreResult } from "../restore/index.ts";
import type { VerifyResult } from "../verify/index.ts";
import type { RotateJson } from "./rotate.ts";

/** One database's backup in `backup --json`; `rotation` with --rotate, `copies` with destinations. */
export function backupResultToJson(
  r: BackupResult,
  extra: { rotation?: RotateJson | null; copies?: CopyResult[] } = {},
): Record<string, unknown> {
  return {
    database: r.database,
    source: r.source,
    ok: r.ok,
    dry_run: r.dryRun,
    exit_code: r.exitCode,
    format: r.format,
    id: r.id,
    data_path: r.dataPath,
    manifest_path: r.manifestPath,
    raw_size: r.rawSize,
    stored_size: r.storedSize,
    duration_ms: r.durationMs,
    error: r.error,
    removed_partials: r.removedPartials,
    notes: r.notes,
    warnings: r.warnings,
    shrunk: r.shrunk,
    shrink_accepted: r.shrinkAccepted,
    rotation: extra.rotation,
    copies: extra.copies,
  };
}

/** One backup's verification in `verify --json`. */
export function verifyResultToJson(r: VerifyResult): Record<string, unknown> {
  return {
    id: r.id,
    database: r.database,
    level: r.level,
    ok: r.ok,
    problems: r.problems,
    duration_ms: r.durationMs,
    warning: r.warning,
    vanished: r.vanished,
    error: r.error,
    bad_packs: r.badPacks,
    recorded: r.recorded,
  };
}

/** A finished restore in `restore --json`. */
export function restoreResultToJson(r: RestoreResult): Record<string, unknown> {
  return {
    id: r.id,
    database: r.database,
    target: r.target,
    pre_restore_id: r.preRestoreId,
    pre_restore_file: r.preRestoreFile,
    undo: r.undo,
    forced_past_users: r.forcedPastUsers,
    removed_files: r.removedFiles,
    check: r.check,
    permissions: r.permissions,
    duration_ms: r.durationMs,
    notify_warnings: r.notifyWarnings,
  };
}
