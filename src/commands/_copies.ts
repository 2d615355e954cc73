/** `backup`'s copy step: bring every destination up to date, notify failures; reported separately (never changes the exit code). */

import { copyNotification } from "../lib/backup/index.ts";
import { type CopyResult, syncDestinations } from "../lib/destinations/index.ts";
import { formatBytes } from "../lib/model/index.ts";
import { sendNotifications } from "../lib/notify/index.ts";
import type { CommandContext } from "./_context.ts";

export async function copyToDestinations(ctx: CommandContext, databases: string[]): Promise<CopyResult[]> {
  if (ctx.config.destinations.length === 0 || databases.length === 0) return [];
  const copies = await syncDestinations(ctx.config, databases, { onStep: (m) => ctx.logger.debug(m) });
  for (const w of await sendNotifications(ctx.config, copies.filter((c) => !c.ok).map(copyNotification)))
    ctx.logger.warn(w);
  return copies;
}

/** One line per destination and database, after the backup lines. */
export function reportCopies(ctx: CommandContext, copies: CopyResult[]): void {
  for (const c of copies) {
    for (const w of c.warnings) ctx.logger.warn(w);
    for (const k of c.removed_partials)
      ctx.logger.info(`${c.database} → ${c.destination}: removed leftover ${k} of an interrupted upload`);
    if (!c.ok)
      ctx.logger.warn(
        `${c.database} → ${c.destination}: copy failed: ${c.error}; the local backup is complete and the next run uploads what is missing`,
      );
    else if (c.uploaded.length)
      ctx.logger.success(
        `${c.database} → ${c.destination}: copied ${c.uploaded.length} backup${c.uploaded.length > 1 ? "s" : ""} (${formatBytes(c.uploaded_bytes)})${c.already_there ? `, ${c.already_there} already there` : ""}`,
      );
    else if (c.already_there)
      ctx.logger.info(`${c.database} → ${c.destination}: up to date (${c.already_there} backups)`);
  }
}
