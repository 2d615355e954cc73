/** How `backup` reports its copies to destinations (runScheduledBackup makes them; they never change the exit code). */

import type { CopyResult } from "../lib/destinations/index.ts";
import { formatBytes } from "../lib/model/index.ts";
import type { CommandContext } from "./_context.ts";

/** One line per destination and database, after the backup lines. */
export function reportCopies(ctx: CommandContext, copies: CopyResult[]): void {
  for (const c of copies) {
    for (const w of c.warnings) ctx.logger.warn(w);
    for (const k of c.removed_partials)
      ctx.logger.info(`${c.database} → ${c.destination}: removed leftover ${k} of an interrupted upload`);
    if (!c.ok)
      ctx.logger.warn(
        `${c.database} → ${c.destination}: copy failed: ${c.error}; ` +
          "the local backup is complete and the next run uploads what is missing",
      );
    else if (c.uploaded.length)
      ctx.logger.success(
        `${c.database} → ${c.destination}: copied ${c.uploaded.length} backup${c.uploaded.length > 1 ? "s" : ""} ` +
          `(${formatBytes(c.uploaded_bytes)})${c.already_there ? `, ${c.already_there} already there` : ""}`,
      );
    else if (c.already_there)
      ctx.logger.info(`${c.database} → ${c.destination}: up to date (${c.already_there} backups)`);
  }
}
