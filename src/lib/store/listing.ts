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
 *   data file whose id has no manifest file at all (an interrupted backup or
 *   upload).
 * Everything else (the lock, foreign files) is left alone and not reported.
 */
import {
  DATA_FILE_RE,
  describeError,
  MANIFEST_EXTENSION,
  type Manifest,
  parseBackupId,
  parseManifest,
} from "../model/index.ts";
import { LOCK_FILE, TEMP_SUFFIX } from "../system/index.ts";

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

export interface ClassifiedFolder<E extends FolderEntry> {
  /** Oldest first (ids sort by time). */
  backups: ClassifiedBackup<E>[];
  partials: E[];
  problems: ListingProblem[];
  /** Valid manifests whose data file is gone or not a regular file (also in `problems`): verify fails them. */
  missingData: { manifest: Manifest; manifestName: string }[];
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

/** The problem of a backup whose data file is gone. */
export function missingDataProblem(m: Manifest): string {
  return `data file ${m.stored.file} is missing`;
}

/** One line for a problem, as `list`, `verify` and `restore` print it. */
export function describeProblem(p: ListingProblem): string {
  return `${p.path}: ${p.reason}`;
}

/**
 * Classifies one database's folder. `texts` holds what reading each name of
 * `manifestNames(...)` gave; `pathOf` names a file for messages; with
 * `checkSize`, a data file whose size differs from the manifest's is a problem.
 */
export function classifyFolder<E extends FolderEntry>(
  entries: E[],
  texts: Map<string, ManifestText>,
  opts: { database: string; pathOf: (name: string) => string; checkSize: boolean },
): ClassifiedFolder<E> {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const out: ClassifiedFolder<E> = { backups: [], partials: [], problems: [], missingData: [] };
  const claimed = new Set<string>();
  // Ids with a manifest file, readable or not: their data is never a partial (a manifest we cannot
  // read today — permissions, a newer format, damage — must not get its backup swept away).
  const hasManifest = new Set<string>();
  for (const name of manifestNames(byName.keys())) {
    const id = manifestId(name)!;
    hasManifest.add(id);
    claimed.add(name);
    const text = texts.get(name);
    if (text === null) continue; // removed between list and read
    try {
      if (text === undefined) throw new Error("manifest was not read");
      if (text instanceof Error) throw text;
      const manifest = parseManifest(text, name, opts.database);
      const data = byName.get(manifest.stored.file);
      if (!data) {
        out.missingData.push({ manifest, manifestName: name });
        throw new Error(missingDataProblem(manifest));
      }
      if (data.regular === false) {
        // Verified by id it fails (exit 3) rather than being unknown; never followed.
        out.missingData.push({ manifest, manifestName: name });
        throw new Error(`data file ${manifest.stored.file} is not a regular file`);
      }
      if (opts.checkSize && data.size !== manifest.stored.size)
        throw new Error(`data file is ${data.size} bytes, manifest says ${manifest.stored.size}`);
      claimed.add(manifest.stored.file);
      out.backups.push({ manifest, manifestName: name, data });
    } catch (err) {
      out.problems.push({ id, path: opts.pathOf(name), reason: describeError(err) });
    }
  }
  for (const e of entries) {
    if (claimed.has(e.name) || isOwnBookkeeping(e.name)) continue;
    const dataId = DATA_FILE_RE.exec(e.name)?.[1];
    const isOrphanData = dataId !== undefined && parseBackupId(dataId) !== null && !hasManifest.has(dataId);
    if (isTemporary(e.name) || isOrphanData) out.partials.push(e);
  }
  return out;
}
