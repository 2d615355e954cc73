/**
 * A database that shrank: a truncated or emptied production file still backs
 * up (SQLite reads a 0-byte file as an empty database), and its backups would
 * then age the good ones out. Each backup is compared with the backup before
 * it; a shrink is recorded in the manifest (`shrunk`), warned, notified, made
 * a health problem and keeps the last backup from before it until someone
 * acknowledges it (`backup --accept-shrink`, or a later backup back to size).
 * See docs/storage.md (the manifest) and docs/shrink.md.
 */
import { formatBytes } from "./format.ts";
import type { Manifest } from "./manifest.ts";

/** A backup this small a fraction of the previous one's raw size is a shrink... */
export const SHRINK_FRACTION = 0.1;
/** ...when the previous one was at least this big (small databases swing freely). */
export const SHRINK_MIN_PREVIOUS_BYTES = 1024 * 1024;

export interface ShrinkReference {
  id: string;
  size: number;
  empty: boolean;
}

/** What a new backup is compared with: raw size and emptiness of its database's data. */
export interface ShrinkSample {
  rawSize: number;
  pageCount: number;
  /** null: not known (an encrypted backup's sealed meta block holds its tables). */
  tableCount: number | null;
}

function isEmpty(s: ShrinkSample): boolean {
  return s.rawSize === 0 || s.pageCount === 0 || s.tableCount === 0;
}

function isOwn(m: Manifest): boolean {
  return m.kind === "scheduled" || m.kind === "manual";
}

/** True when `m` records a shrink nobody has acknowledged yet. */
export function isUnacknowledgedShrink(
  m: Manifest | undefined,
): m is Manifest & { shrunk: NonNullable<Manifest["shrunk"]> } {
  return Boolean(m?.shrunk && !m.shrink_accepted);
}

/** The newest scheduled or manual backup among `manifests` (oldest first). */
export function newestOwn(manifests: Manifest[]): Manifest | undefined {
  return manifests.filter(isOwn).at(-1);
}

/**
 * What the next backup is compared with: the newest scheduled or manual
 * backup, or, while that one is itself an unacknowledged shrink, the backup
 * from before the shrink (so every backup of the still-empty database says so).
 */
export function shrinkReference(manifests: Manifest[]): ShrinkReference | null {
  const m = newestOwn(manifests);
  if (!m) return null;
  if (isUnacknowledgedShrink(m)) return { id: m.shrunk.previous_id, size: m.shrunk.previous_size, empty: false };
  return {
    id: m.id,
    size: m.raw.size,
    empty: isEmpty({
      rawSize: m.raw.size,
      pageCount: m.snapshot.page_count,
      // Unknown while an encrypted backup's meta block is sealed: only its size and pages then say it was empty.
      tableCount: m.snapshot.tables ? Object.keys(m.snapshot.tables).length : null,
    }),
  };
}

/** The manifest's `shrunk` field for a new backup, or null when it did not shrink. */
export function detectShrink(ref: ShrinkReference | null, now: ShrinkSample): Manifest["shrunk"] | null {
  if (!ref) return null;
  const emptied = isEmpty(now) && !ref.empty;
  const fell = ref.size >= SHRINK_MIN_PREVIOUS_BYTES && now.rawSize < ref.size * SHRINK_FRACTION;
  return emptied || fell ? { previous_id: ref.id, previous_size: ref.size } : null;
}

/** The id of the backup retention must keep: the one from before an unacknowledged shrink. */
export function beforeShrinkId(manifests: Manifest[]): string | null {
  const m = newestOwn(manifests);
  return isUnacknowledgedShrink(m) ? m.shrunk.previous_id : null;
}

/** The loud line: what shrank, from what, and what to do. */
export function describeShrink(
  database: string,
  rawSize: number,
  shrunk: NonNullable<Manifest["shrunk"]>,
  accepted = false,
): string {
  const what =
    `${database}: the database shrank from ${formatBytes(shrunk.previous_size)} ` +
    `to ${formatBytes(rawSize)} (previous backup ${shrunk.previous_id})`;
  if (accepted) return `${what}; accepted with --accept-shrink, ${shrunk.previous_id} is no longer kept for it`;
  return (
    `${what}; if this was not intended, restore ${shrunk.previous_id} ` +
    `(\`sqlbak restore ${database} --id ${shrunk.previous_id}\`); ` +
    `if it was, run \`sqlbak backup ${database} --accept-shrink\``
  );
}
