/**
 * Freeing the pieces (packs and pack indexes) of pages backups in one
 * database's folder: the one routine `rotate` (after removing backups) and
 * `backup` (with its stale-partial sweep) both use. It frees exactly what the
 * listing (listing.ts) reports as unreferenced and stale, re-listing the folder
 * itself so the decision is never older than the removal: a piece some parsed
 * manifest names is referenced, and while any manifest cannot be parsed every
 * unnamed piece is protected, so neither is ever in the list this frees.
 *
 * Callers hold the database's lock. That is what makes "stale" safe in
 * backup_dir: the lock serialises backup and rotate on a database, so a pack
 * started more than the partial age ago by a backup still running (a long
 * one, whose manifest is not written yet) cannot exist while this runs. The
 * age only guards runs that do not share the lock (another machine on a
 * shared folder). Destinations have no lock and are not freed here
 * (docs/retention.md).
 */
import { describeError, PACK_INDEX_RE } from "../model/index.ts";
import type { Backend } from "./backend.ts";
import { type BackupListing, listBackups, type PieceFile } from "./list.ts";

/** A piece that was (or, on a dry run, would be) freed, or that an unreadable manifest holds. */
export interface FreedPiece {
  name: string;
  /** A real path in backup_dir. */
  path: string;
  /** Stored bytes. */
  size: number;
}

export interface FreeResult {
  /** Removed (dry run: would be removed), pack indexes before their packs. */
  freed: FreedPiece[];
  /** Named by no manifest that parses but kept: some manifest here could not be parsed and might name them. */
  held: FreedPiece[];
  /** Pieces that could not be removed (each one line); they stay freeable for a later run. */
  errors: string[];
}

const asFreed = (p: PieceFile): FreedPiece => ({ name: p.name, path: p.path, size: p.size });

/**
 * What a listing allows to free: its stale unreferenced pieces (never a fresh
 * or protected one), each index before its pack, so a pack is never left
 * indexed without its bytes; and the protected ones it must hold. Pure.
 */
export function planFreeing(listing: Pick<BackupListing, "pieces">): { free: PieceFile[]; held: PieceFile[] } {
  const free = listing.pieces.unreferenced.filter((p) => p.stale).map(({ stale: _stale, ...p }) => p);
  const isIndex = (p: PieceFile) => PACK_INDEX_RE.test(p.name);
  free.sort((a, b) => Number(isIndex(b)) - Number(isIndex(a)) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { free, held: listing.pieces.protected };
}

/** Total stored bytes of `pieces`. */
export function piecesBytes(pieces: { size: number }[]): number {
  return pieces.reduce((n, p) => n + p.size, 0);
}

export interface FreeOptions {
  /** Ages unreferenced pieces (by the time in their names). */
  now: Date;
  /** Called before each removal (the op-log line, so a run killed midway leaves a record). */
  beforeRemove?: (piece: FreedPiece) => void;
  /** Called after each removal (a pause point for the fault tests). */
  afterRemove?: (piece: FreedPiece) => void;
  /**
   * A listing of this folder made under the same lock after its last manifest
   * removal (nothing can have changed the references since); else it is listed here.
   */
  listing?: Pick<BackupListing, "pieces">;
}

/**
 * Lists `database` in `folder` and removes each stale unreferenced piece
 * (see planFreeing). Never throws for a piece that cannot be removed: it is
 * in `errors` and stays freeable. The caller holds the database's lock.
 */
export async function freeStalePieces(folder: Backend, database: string, opts: FreeOptions): Promise<FreeResult> {
  const { free, held } = planFreeing(opts.listing ?? (await listBackups(folder, database, opts.now)));
  const out: FreeResult = { freed: [], held: held.map(asFreed), errors: [] };
  for (const p of free) {
    const piece = asFreed(p);
    opts.beforeRemove?.(piece);
    try {
      await folder.remove(p.key);
    } catch (err) {
      out.errors.push(`cannot free ${p.path}: ${describeError(err)}`);
      continue;
    }
    out.freed.push(piece);
    opts.afterRemove?.(piece);
  }
  return out;
}

/**
 * `folder` as it will be once the backups whose manifest and data keys are in
 * `keys` are removed: for a dry run's "would free", listed through the same
 * routine. Read-only use only.
 */
export function withoutKeys(folder: Backend, keys: Set<string>): Backend {
  return {
    ...folder,
    async list(prefix) {
      return (await folder.list(prefix)).filter((f) => !keys.has(f.key));
    },
    async readText(key) {
      return keys.has(key) ? null : folder.readText(key);
    },
  };
}
