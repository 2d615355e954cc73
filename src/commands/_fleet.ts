/** `backup` over many databases: the `--parallel` flag, the run's summary line, and databases that vanished. */
import { type BackupResult, defaultParallel, MAX_PARALLEL } from "../lib/backup/index.ts";
import type { ResolvedConfig } from "../lib/config/index.ts";
import { UsageError } from "../lib/model/index.ts";
import { findVanished } from "../lib/retention/index.ts";
import type { CommandContext } from "./_context.ts";

export const parallelArgs = {
  parallel: {
    type: "string",
    description: `Back up this many databases at once (default: one per CPU, at most ${MAX_PARALLEL}; 1: in turn)`,
    valueHint: "N",
  },
} as const;

/** `--parallel` as given: 1 to 64; absent: one per CPU, at most MAX_PARALLEL. */
export function parseParallel(raw: string | undefined): number {
  if (raw === undefined) return defaultParallel();
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new UsageError(`--parallel takes a whole number from 1 to 64, not "${raw}"`);
  return n;
}

/** Says each database a glob/folder entry found before and no longer finds (its backups stay). */
export async function reportVanished(ctx: CommandContext, config: ResolvedConfig): Promise<void> {
  for (const v of await findVanished(config))
    ctx.logger.info(
      `${v.database}: ${v.source} is no longer found by ${v.pattern}; ` +
        "its backups are kept and rotate by its entry's policy",
    );
}

/** One line at the end of a run over several databases: how many worked, how long, how many at once, which failed. */
export function reportFleetSummary(
  ctx: CommandContext,
  results: BackupResult[],
  run: { parallel: number; startedMs: number },
): void {
  if (results.length < 2) return;
  const failed = results.filter((r) => !r.ok).map((r) => r.database);
  const secs = ((Date.now() - run.startedMs) / 1000).toFixed(1);
  const done = results[0]!.dryRun ? "checked (dry run)" : "backed up";
  const line =
    `${results.length - failed.length} of ${results.length} databases ${done} in ${secs}s ` +
    `(${Math.min(run.parallel, results.length)} at a time)`;
  if (failed.length) ctx.logger.warn(`${line}; failed: ${failed.join(", ")}`);
  else ctx.logger.info(line);
}
