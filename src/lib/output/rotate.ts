/**
 * rotate's stdout: a table of every backup with keep/remove and its reasons,
 * and the stable `--json` shape (documented in docs/commands.md; change additively).
 */
import { formatLocalTime, renderTable } from "../model/index.ts";
import type { RotateResult } from "../retention/index.ts";

export type RotateJson = Omit<RotateResult, "exitCode">;

/** The `--json` entry for one database: the result without the internal exit code. */
export function rotateToJson(r: RotateResult): RotateJson {
  const { exitCode: _exitCode, ...json } = r;
  return json;
}

/**
 * One table over all databases, newest first per database; CREATED in the one display form (local time with offset).
 */
export function renderRotateTable(results: RotateResult[], dryRun: boolean): string {
  const rows = results.flatMap((r) =>
    r.backups.map((b) => [
      b.action === "keep" ? "keep" : dryRun ? "would remove" : r.removed.includes(b.id) ? "removed" : "remove (failed)",
      b.id,
      formatLocalTime(new Date(b.created_at)),
      b.kind,
      b.reasons.join(", ") || b.removal || "-",
    ]),
  );
  // Kept copies beside the database: shown by their path, as `list` shows them.
  const files = results.flatMap((r) =>
    r.pre_restore_files.map((f) => [
      f.action === "keep"
        ? "keep"
        : dryRun
          ? "would remove"
          : r.removed_pre_restore_files.includes(f.file)
            ? "removed"
            : "remove (failed)",
      f.file,
      formatLocalTime(new Date(f.created_at)),
      f.kind,
      f.reasons.join(", ") || f.removal || "-",
    ]),
  );
  rows.push(...files);
  return renderTable(["ACTION", "ID", "CREATED", "KIND", "REASONS"], rows);
}
