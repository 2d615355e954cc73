/**
 * Freeing the pieces of pages backups at a destination, in two phases,
 * because a destination has no lock: a sync that found a pack already there
 * (and so did not upload it) could publish a manifest naming it just after
 * this run removed it. So a rotation never removes a piece it has just seen
 * unreferenced. It writes a mark, `free-<ts>-<16 hex>.json` in the database's
 * folder, listing the pieces unreferenced now; a later rotation removes a
 * piece only when a mark at least STALE_PARTIAL_AGE_MS old lists it and it is
 * still unreferenced and stale. A sync publishing a manifest checks the marks
 * just before (`markedPieces`) and uploads again any marked pack it names
 * (same name, same bytes), which leaves the seconds between a rotation's
 * listing and its removals against an hour of grace. While any manifest there
 * cannot be parsed nothing is marked or removed (it might name anything).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Backend,
  type BackupListing,
  FREE_MARK_RE,
  type FreeMark,
  listBackups,
  markedPieces,
  piecesBytes,
  planFreeing,
  readFreeMarks,
  STALE_PARTIAL_AGE_MS,
  type TextCache,
} from "../store/index.ts";
import { pausePoint } from "../system/index.ts";

export { FREE_MARK_RE, type FreeMark, markedPieces, readFreeMarks };

/** What freeing did (dry run: would do) at one destination. */
export interface RemoteFreeing {
  /** Pieces removed: marked at least the partial age ago and still unreferenced and stale. */
  freed: string[];
  freed_bytes: number;
  /** Unreferenced pieces this run listed in a new mark (removed by a run at least the partial age later). */
  marked: string[];
  /** Pieces kept unmarked because a manifest there cannot be parsed and might name them. */
  pieces_held: string[];
}

async function writeMark(backend: Backend, database: string, now: Date, pieces: string[]): Promise<void> {
  const name = `free-${now.toISOString().replace(/[-:.]/g, "")}-${randomBytes(8).toString("hex")}.json`;
  const dir = mkdtempSync(join(tmpdir(), "sqlbak-mark-"));
  try {
    const path = join(dir, name);
    writeFileSync(path, `${JSON.stringify({ format: 1, created_at: now.toISOString(), pieces })}\n`, { mode: 0o600 });
    await backend.put(path, `${database}/${name}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One freeing round at a destination after its removals (see the module
 * doc): removes the ripe marked pieces, marks the newly unreferenced ones,
 * retires ripe marks none of whose pieces is still unreferenced. `listing`
 * is the destination's listing before the removals: a folder that had no
 * pieces then has none now, and is not listed again.
 */
export async function freeAtDestination(
  backend: Backend,
  database: string,
  before: Pick<BackupListing, "pieces">,
  opts: { now: Date; dryRun: boolean; doomed: Set<string>; cache?: TextCache },
): Promise<RemoteFreeing> {
  const out: RemoteFreeing = { freed: [], freed_bytes: 0, marked: [], pieces_held: [] };
  const { referenced, unreferenced, protected: held } = before.pieces;
  if (referenced.length + unreferenced.length + held.length === 0) return out;
  // A dry run lists the folder as the removals would leave it (their manifest and map keys hidden).
  const view: Backend = opts.dryRun
    ? {
        ...backend,
        list: async (prefix) => (await backend.list(prefix)).filter((f) => !opts.doomed.has(f.key)),
      }
    : backend;
  const listing = await listBackups(view, database, opts.now, { cache: opts.cache });
  const plan = planFreeing(listing);
  if (plan.held.length) {
    out.pieces_held = plan.held.map((p) => p.name);
    return out;
  }
  const marks = await readFreeMarks(backend, database, opts.cache);
  const ripe = marks.filter((m) => opts.now.getTime() - m.at.getTime() >= STALE_PARTIAL_AGE_MS);
  const ripeNames = new Set(ripe.flatMap((m) => m.pieces));
  const markedNames = new Set(marks.flatMap((m) => m.pieces));
  const remove = plan.free.filter((p) => ripeNames.has(p.name));
  const removed = new Set<string>();
  for (const p of remove) {
    if (!opts.dryRun) await backend.remove(p.key);
    removed.add(p.name);
    out.freed.push(p.name);
    if (!opts.dryRun) pausePoint("rotate:remote-piece-freed");
  }
  out.freed_bytes = piecesBytes(remove);
  out.marked = listing.pieces.unreferenced.map((p) => p.name).filter((n) => !markedNames.has(n));
  if (opts.dryRun) return out;
  if (out.marked.length) await writeMark(backend, database, opts.now, out.marked);
  const stillUnreferenced = new Set(listing.pieces.unreferenced.map((p) => p.name).filter((n) => !removed.has(n)));
  for (const m of ripe) {
    if (m.pieces.some((n) => stillUnreferenced.has(n))) continue;
    // A mark left behind only allows removing what is still unreferenced; the next run retires it.
    await backend.remove(m.key).catch(() => undefined);
  }
  return out;
}
