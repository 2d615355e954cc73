/**
 * Marks of two-phase freeing at a destination: `free-<ts>-<16 hex>.json` in a
 * database's folder lists pieces (packs, pack indexes) a rotation found
 * unreferenced; a later rotation removes them (retention/remote-free.ts), and
 * a sync uploads again any marked pack a manifest it publishes names
 * (destinations/upload-pages.ts). Reading them is here, beside the listing,
 * because both sides read them.
 */
import { MAX_MANIFEST_BYTES, PACK_FILE_RE, PACK_INDEX_RE, parseBackupId } from "../model/index.ts";
import type { Backend } from "./backend.ts";
import type { TextCache } from "./listing-cache.ts";

/** A mark's name; never a backup id (those end in 8 hex), so the listing ignores it. */
export const FREE_MARK_RE = /^free-(\d{8}T\d{9}Z)-([0-9a-f]{16})\.json$/;

export interface FreeMark {
  key: string;
  /** When it was written (the time in its name). */
  at: Date;
  /** Names of the packs and pack indexes it lists. */
  pieces: string[];
}

const markAt = (ts: string) => parseBackupId(`x-${ts}-00000000`)?.createdAt ?? null;

/**
 * The marks in `database`'s folder. One that cannot be read or parsed is
 * skipped: a mark only ever allows a removal, so ignoring it is safe (its
 * pieces are marked again).
 */
export async function readFreeMarks(backend: Backend, database: string, cache?: TextCache): Promise<FreeMark[]> {
  const marks: FreeMark[] = [];
  for (const f of await backend.list(`${database}/`)) {
    const name = f.key.slice(database.length + 1);
    const m = FREE_MARK_RE.exec(name);
    const at = m ? markAt(m[1]!) : null;
    if (!at || f.regular === false || f.size > MAX_MANIFEST_BYTES) continue;
    try {
      // A mark is never rewritten under its name: one the listing shows unchanged is not read again.
      const text = cache?.lookup(name, f) ?? (await backend.readText(f.key));
      const parsed = JSON.parse(text ?? "null") as { pieces?: unknown };
      const pieces = Array.isArray(parsed?.pieces) ? parsed.pieces : null;
      const named = (n: unknown): n is string =>
        typeof n === "string" && (PACK_FILE_RE.test(n) || PACK_INDEX_RE.test(n));
      if (!text || !pieces?.every(named)) continue;
      marks.push({ key: f.key, at, pieces });
      cache?.remember(name, f, text);
    } catch {
      // unreadable: skipped (see above)
    }
  }
  return marks;
}

/** Names of every piece some mark in `database`'s folder lists: what a sync uploads again before its manifest. */
export async function markedPieces(backend: Backend, database: string, cache?: TextCache): Promise<Set<string>> {
  return new Set((await readFreeMarks(backend, database, cache)).flatMap((m) => m.pieces));
}
