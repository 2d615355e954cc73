/** Freeing the pieces of pages backups (packs, pack indexes) that no remaining manifest names, after removals; and its dry run. */
import type { ResolvedConfig } from "../config/index.ts";
import {
  type BackupListing,
  type FreedPiece,
  freeLocalPieces,
  listBackups,
  openLocalFolder,
  piecesBytes,
  planFreeing,
  withoutKeys,
} from "../store/index.ts";
import { pausePoint } from "../system/index.ts";
import type { FreeingReport, PieceSummary } from "./rotate-result.ts";

const summary = (p: FreedPiece): PieceSummary => ({ name: p.name, size: p.size });

/**
 * Frees the pieces no remaining manifest names, after the removals and under
 * the same lock (store/free.ts): the folder is listed again, so pieces only the
 * removed backups named are unreferenced now, and freed once the time in their
 * name is the partial age old (a newer one waits for a later run). A backup
 * still writing its packs cannot be running: it would hold this lock. A folder
 * whose listing had no pieces at all gets none by removals: it is not listed
 * again. Returns the failures (one line each).
 */
export async function freePieces(
  config: ResolvedConfig,
  listing: BackupListing,
  now: Date,
  r: FreeingReport,
  by = "rotate",
) {
  const { referenced, unreferenced, protected: held } = listing.pieces;
  if (referenced.length + unreferenced.length + held.length === 0) return [];
  pausePoint("rotate:pieces-freeing");
  const freed = await freeLocalPieces(config.backupDir, r.database, {
    now,
    logFile: config.logFile,
    by,
    afterRemove: () => pausePoint("rotate:piece-freed"),
    onLogWarning: (w) => {
      if (!r.warnings.includes(w)) r.warnings.push(w);
    },
  });
  r.freed = freed.freed.map(summary);
  r.freed_bytes = piecesBytes(freed.freed);
  r.pieces_held = freed.held.map(summary);
  return freed.errors;
}

/** --dry-run: what freePieces would free once the doomed backups are gone (the same listing, without them). */
export async function planDryFreeing(
  config: ResolvedConfig,
  listing: BackupListing,
  doomed: { manifestKey: string; dataKey: string }[],
  now: Date,
  r: FreeingReport,
): Promise<void> {
  const { referenced, unreferenced, protected: held } = listing.pieces;
  if (referenced.length + unreferenced.length + held.length === 0) return;
  const hidden = new Set(doomed.flatMap((b) => [b.manifestKey, b.dataKey]));
  const after = planFreeing(await listBackups(withoutKeys(openLocalFolder(config.backupDir), hidden), r.database, now));
  r.freed = after.free.map(summary);
  r.freed_bytes = piecesBytes(after.free);
  r.pieces_held = after.held.map(summary);
}
