/** The op-log lines of a rotation: one per removal before it happens, one summary after. */
import type { ResolvedConfig } from "../config/index.ts";
import { appendOpLog } from "../store/index.ts";
import type { RotateResult } from "./rotate-result.ts";

/**
 * One op-log line per backup, written before it is removed: a run killed
 * mid-rotation never reaches the summary line, and without a record the
 * destinations would keep that backup's copies forever as a possible only
 * copy. A line that cannot be written (a full disk) is a warning, never a
 * reason to keep the space: the summary line lists the removal again.
 */
export function logRemoval(config: ResolvedConfig, database: string, id: string, r: RotateResult): void {
  const warning = appendOpLog(config.logFile, { op: "rotate-remove", database, ok: true, id });
  if (warning && !r.warnings.includes(warning)) r.warnings.push(warning);
}

export function logRotation(config: ResolvedConfig, r: RotateResult): void {
  const warning = appendOpLog(config.logFile, {
    op: "rotate",
    database: r.database,
    ok: r.ok,
    kept: r.backups.filter((b) => b.action === "keep").length,
    removed: r.removed,
    removed_partials: r.removed_partials,
    ...(r.removed_pre_restore_files.length ? { removed_pre_restore_files: r.removed_pre_restore_files } : {}),
    ...(r.freed.length ? { freed: r.freed.map((p) => p.name), freed_bytes: r.freed_bytes } : {}),
    empty_policy: r.empty_policy,
    error: r.error,
  });
  if (warning) r.warnings.push(warning);
}
