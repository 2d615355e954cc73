/**
 * The one rule for reading a backup folder, wherever it lives (backup_dir,
 * a dir/S3/SFTP destination): given the file names in one database's folder
 * and the text of each manifest, which names form backups, which are
 * partials left by an interrupted run, and which are problems. Pure: the
 * callers read the folder and the manifests (sync or async), this decides.
 *
 * - A backup: a manifest named `<id>.json` that parses and validates, whose
 *   data file is present (and, where the caller knows sizes it can trust,
 *   has the size the manifest promises).
 * - A problem: a manifest that exists under a backup id but cannot be read,
 *   parsed or validated, or whose data file is missing, not a regular file
 *   (a symlink is never followed) or the wrong size.
 *   It is reported by id and never listed, and its data file is never a
 *   partial: only an explicit command removes it.
 * - A partial: a hidden temporary file (`.….tmp`, `.….tmp-journal`), or a
 *   data file or page map whose id has no manifest file at all (an
 *   interrupted backup or upload).
 * - A piece: a pack or pack index of pages backups (never a partial). It is
 *   referenced when a manifest that parses (listed or a problem) names its
 *   pack; otherwise protected when any manifest here could not be parsed (it
 *   might name it), else unreferenced: stale once the start time in its name
 *   is STALE_PARTIAL_AGE_MS old.
 * A pages backup is listed only when its map and every pack it names are
 * present (with their sizes, where sizes are checked); otherwise it is a
 * problem naming the first missing piece.
 * Everything else (the lock, the id key `.sqlbak-id-key` and its copies
 * `id-key-<fingerprint>[.age]`, foreign files) is left alone and not reported.
 */
import {
  DATA_FILE_RE,
  describeError,
  MANIFEST_EXTENSION,
  MAP_FILE_RE,
  type Manifest,
  PACK_FILE_RE,
  PACK_INDEX_RE,
  packStartedAt,
  parseBackupId,
  parseManifest,
  storedPages,
} from "../model/index.ts";
import { LOCK_FILE, TEMP_SUFFIX } from "../system/index.ts";

/**
 * A partial file or unreferenced piece this old cannot belong to a running backup
 * (the lock serialises runs; this guards shared folders).
 */
export const STALE_PARTIAL_AGE_MS = 60 * 60 * 1000;

export interface FolderEntry {
  name: string;
  /** Bytes; undefined when the caller did not stat the file. */
  size?: number;
  /** False for a symlink, folder or other non-regular file; undefined when the caller did not look. */
  regular?: boolean;
}

/** What reading one manifest gave: its text, null when it vanished meanwhile, or the error. */
export type ManifestText = string | null | Error;

export interface ListingProblem {
  /** The backup the problem is about. */
  id: string;
  /** Where the manifest is (a path or a descriptive URL). */
  path: string;
  reason: string;
}

export interface ClassifiedBackup<E extends FolderEntry> {
  manifest: Manifest;
  manifestName: string;
  data: E;
}

/** The packs and pack indexes of a folder (each in exactly one list, sorted by name). */
export interface ClassifiedPieces<E extends FolderEntry> {
  /** Named by a manifest that parses, listed or a problem (an index when its pack is). */
  referenced: E[];
  /** Named by no manifest, and every manifest here parses: stale ones are free to remove. */
  unreferenced: { entry: E; stale: boolean }[];
  /** Named by no manifest that parses, while some manifest here could not be parsed: it might name them. */
  protected: E[];
}

export interface ClassifiedFolder<E extends FolderEntry> {
  /** Oldest first (ids sort by time). */
  backups: ClassifiedBackup<E>[];
  partials: E[];
  problems: ListingProblem[];
  /**
   * Valid manifests whose data file (a pages backup: its map or a pack) is gone
   * or not a regular file (also in `problems`): verify fails them.
   */
  missingData: { manifest: Manifest; manifestName: string }[];
  pieces: ClassifiedPieces<E>;
}

/** `app-….json` → `app-…` when the name is a manifest of a backup id, else null. */
export function manifestId(name: string): string | null {
  if (!name.endsWith(MANIFEST_EXTENSION) || name.startsWith(".")) return null;
  const id = name.slice(0, -MANIFEST_EXTENSION.length);
  return parseBackupId(id) ? id : null;
}

/** The names among `names` whose text the caller must read before classifying, sorted. */
export function manifestNames(names: Iterable<string>): string[] {
  return [...names].filter((n) => manifestId(n) !== null).sort();
}

function isOwnBookkeeping(name: string): boolean {
  return name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`) || name.startsWith(`${LOCK_FILE}-`);
}

/** SQLite may leave a rollback journal beside a temporary snapshot (`….tmp-journal`). */
function isTemporary(name: string): boolean {
  return name.startsWith(".") && (name.endsWith(TEMP_SUFFIX) || name.endsWith(`${TEMP_SUFFIX}-journal`));
}

/** The problem of a backup whose data file (a pages backup: its map) is gone. */
export function missingDataProblem(m: Manifest): string {
  return `${storedPages(m) ? "map file" : "data file"} ${m.stored.file} is missing`;
}

/**
 * Why the stored files of a valid manifest do not form a backup (the first one
 * missing, not regular or of the wrong size), or null when they do; `gone`
 * when one is missing or not a regular file (verify then fails the backup).
 */
function storedProblem<E extends FolderEntry>(
  m: Manifest,
  byName: Map<string, E>,
  checkSize: boolean,
): { reason: string; gone: boolean } | null {
  const pages = storedPages(m);
  const what = pages ? "map file" : "data file";
  const data = byName.get(m.stored.file);
  if (!data) return { reason: missingDataProblem(m), gone: true };
  // A data file that is not a regular file is verified by id as failed (exit 3) rather than unknown; never followed.
  if (data.regular === false) return { reason: `${what} ${m.stored.file} is not a regular file`, gone: true };
  if (checkSize && data.size !== m.stored.size)
    return { reason: `${what} is ${data.size} bytes, manifest says ${m.stored.size}`, gone: false };
  for (const p of pages?.packs ?? []) {
    const pack = byName.get(p.name);
    if (!pack) return { reason: `pack ${p.name} is missing`, gone: true };
    if (pack.regular === false) return { reason: `pack ${p.name} is not a regular file`, gone: true };
    if (checkSize && pack.size !== p.size)
      return { reason: `pack ${p.name} is ${pack.size} bytes, manifest says ${p.size}`, gone: false };
  }
  return null;
}

/** `pack-<ts>-<hex>` for a pack or pack index name, else null. */
function pieceStem(name: string): string | null {
  const m = PACK_FILE_RE.exec(name) ?? PACK_INDEX_RE.exec(name);
  return m && packStartedAt(name) ? `pack-${m[1]}-${m[2]}` : null;
}

/** Packs and indexes by what may happen to them; `names` are the packs parsed manifests name. */
function classifyPieces<E extends FolderEntry>(
  entries: E[],
  names: Set<string>,
  anyUnparsed: boolean,
  nowMs: number,
): ClassifiedPieces<E> {
  const stems = new Set([...names].map(pieceStem));
  const out: ClassifiedPieces<E> = { referenced: [], unreferenced: [], protected: [] };
  for (const e of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const stem = pieceStem(e.name);
    if (stem === null) continue;
    if (names.has(e.name) || (PACK_INDEX_RE.test(e.name) && stems.has(stem))) out.referenced.push(e);
    else if (anyUnparsed) out.protected.push(e);
    else out.unreferenced.push({ entry: e, stale: nowMs - packStartedAt(e.name)!.getTime() >= STALE_PARTIAL_AGE_MS });
  }
  return out;
}

/** One line for a problem, as `list`, `verify` and `restore` print it. */
export function describeProblem(p: ListingProblem): string {
  return `${p.path}: ${p.reason}`;
}

/**
 * Classifies one database's folder. `texts` holds what reading each name of
 * `manifestNames(...)` gave; `pathOf` names a file for messages; with
 * `checkSize`, a data file, map or pack whose size differs from the
 * manifest's is a problem; `nowMs` ages unreferenced pieces.
 */
export function classifyFolder<E extends FolderEntry>(
  entries: E[],
  texts: Map<string, ManifestText>,
  opts: { database: string; pathOf: (name: string) => string; checkSize: boolean; nowMs?: number },
): ClassifiedFolder<E> {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const out: ClassifiedFolder<E> = {
    backups: [],
    partials: [],
    problems: [],
    missingData: [],
    pieces: { referenced: [], unreferenced: [], protected: [] },
  };
  const claimed = new Set<string>();
  // Ids with a manifest file, readable or not: their data is never a partial (a manifest we cannot
  // read today — permissions, a newer format, damage — must not get its backup swept away).
  const hasManifest = new Set<string>();
  // Packs named by manifests that parse, listed or not; and whether some manifest could not be parsed.
  const packNames = new Set<string>();
  let anyUnparsed = false;
  for (const name of manifestNames(byName.keys())) {
    const id = manifestId(name)!;
    hasManifest.add(id);
    claimed.add(name);
    const text = texts.get(name);
    if (text === null) continue; // removed between list and read
    let manifest: Manifest | undefined;
    try {
      if (text === undefined) throw new Error("manifest was not read");
      if (text instanceof Error) throw text;
      manifest = parseManifest(text, name, opts.database);
      for (const p of storedPages(manifest)?.packs ?? []) packNames.add(p.name);
      const problem = storedProblem(manifest, byName, opts.checkSize);
      if (problem) {
        if (problem.gone) out.missingData.push({ manifest, manifestName: name });
        throw new Error(problem.reason);
      }
      claimed.add(manifest.stored.file);
      out.backups.push({ manifest, manifestName: name, data: byName.get(manifest.stored.file)! });
    } catch (err) {
      if (!manifest) anyUnparsed = true;
      out.problems.push({ id, path: opts.pathOf(name), reason: describeError(err) });
    }
  }
  for (const e of entries) {
    if (claimed.has(e.name) || isOwnBookkeeping(e.name)) continue;
    const dataId = DATA_FILE_RE.exec(e.name)?.[1] ?? MAP_FILE_RE.exec(e.name)?.[1];
    const isOrphanData = dataId !== undefined && parseBackupId(dataId) !== null && !hasManifest.has(dataId);
    if (isTemporary(e.name) || isOrphanData) out.partials.push(e);
  }
  out.pieces = classifyPieces(entries, packNames, anyUnparsed, opts.nowMs ?? Date.now());
  return out;
}
