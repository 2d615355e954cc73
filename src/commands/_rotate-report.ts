/** Human summary of rotations on stderr, shared by `rotate` and `backup --rotate`. */
import { EXIT, formatBytes, OutcomeError } from "../lib/model/index.ts";
import { loneRotationFailure, type RotateResult } from "../lib/retention/index.ts";
import type { CommandContext } from "./_context.ts";

/**
 * Logs one line per database (and its warnings); with `throwOnFailure`,
 * throws OutcomeError (exit 1, or 4 when only locks failed).
 */
export function reportRotations(ctx: CommandContext, results: RotateResult[], throwOnFailure = true): void {
  for (const r of results) {
    for (const w of r.warnings) ctx.logger.warn(w);
    for (const s of r.skipped) ctx.logger.warn(`skipped ${s}`);
    for (const p of r.removed_partials)
      ctx.logger.info(`${r.database}: ${r.dry_run ? "would remove" : "removed"} stale partial file ${p}`);
    for (const f of r.pre_restore_files.filter((x) => x.action === "remove"))
      if (r.dry_run || r.removed_pre_restore_files.includes(f.file))
        ctx.logger.info(
          `${r.database}: ${r.dry_run ? "would remove" : "removed"} pre-restore file ${f.file} (${f.removal})`,
        );
    if (r.freed.length)
      ctx.logger.info(
        `${r.database}: ${r.dry_run ? "would free" : "freed"} ${r.freed.length} unreferenced ` +
          `pack file${r.freed.length === 1 ? "" : "s"} (${formatBytes(r.freed_bytes)}): ${r.freed.map((p) => p.name).join(", ")}`,
      );
    if (r.pieces_held.length)
      ctx.logger.warn(
        `${r.database}: kept ${r.pieces_held.length} pack file${r.pieces_held.length === 1 ? "" : "s"} no readable ` +
          "manifest references, because a manifest that cannot be read may reference them; " +
          "fix or remove it and the next rotate frees them",
      );
    if (r.empty_policy)
      ctx.logger.warn(
        `${r.database}: the retention policy is empty (every keep_* is 0 and no keep_within*): nothing removed`,
      );
    if (!r.ok) {
      // A lone rotation's failure is said once, by the caller's OutcomeError (see loneRotationFailure).
      if (results.length !== 1) ctx.logger.error(`${r.database}: rotation failed: ${r.error}`);
      continue;
    }
    const kept = r.backups.filter((b) => b.action === "keep").length;
    const doomed = r.backups.length - kept;
    const verb = r.dry_run ? "would remove" : "removed";
    ctx.logger.success(`${r.database}: kept ${kept}, ${verb} ${r.dry_run ? doomed : r.removed.length} (${r.policy})`);
    for (const d of r.destinations ?? []) {
      if (!d.ok)
        ctx.logger.warn(
          `${r.database} @ ${d.destination}: rotation failed: ${d.error}; ` +
            "the local rotation stands, the next run tries again",
        );
      else ctx.logger.success(`${r.database} @ ${d.destination}: kept ${d.kept}, ${verb} ${d.removed.length}`);
      const at = `${r.database} @ ${d.destination}`;
      if (d.freed.length)
        ctx.logger.info(
          `${at}: ${r.dry_run ? "would free" : "freed"} ${d.freed.length} pack file(s) marked unreferenced ` +
            `an hour ago or more (${formatBytes(d.freed_bytes)})`,
        );
      if (d.marked.length)
        ctx.logger.info(
          `${at}: ${r.dry_run ? "would mark" : "marked"} ${d.marked.length} unreferenced pack file(s), ` +
            "freed by a rotation at least an hour later if still unreferenced",
        );
      if (d.pieces_held.length)
        ctx.logger.warn(
          `${at}: kept ${d.pieces_held.length} pack file(s) no readable manifest references, ` +
            "because a manifest there that cannot be read may reference them",
        );
      if (d.kept_only_copy.length)
        ctx.logger.warn(
          `${r.database} @ ${d.destination}: kept ${d.kept_only_copy.length} the policy would remove, because ` +
            "backup_dir no longer has them and sqlbak did not remove them " +
            `(they may be the only copy): ${d.kept_only_copy.join(", ")}`,
        );
    }
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0 || !throwOnFailure) return;
  const code = failed.some((r) => r.exitCode !== EXIT.locked) ? EXIT.failed : EXIT.locked;
  throw new OutcomeError(
    loneRotationFailure(results) ?? `${failed.length} of ${results.length} rotations failed`,
    code,
  );
}
