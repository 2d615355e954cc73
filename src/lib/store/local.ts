/**
 * The local backup folder: `<backup_dir>/<database>/<id>.sqlite.zst` (`.age`
 * appended when encrypted) plus `<id>.json`, classified by the rule every
 * folder shares (listing.ts): a backup is listed only when its manifest
 * parses and its data file exists; a manifest that cannot be read is a problem
 * and its data is kept; temporary files and data without any manifest are
 * partials left by an interrupted run, reported but never listed.
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DATABASE_NAME_RE, MAX_MANIFEST_BYTES, type Manifest, OperationError } from "../model/index.ts";
import { fileInTheWay, removeQuietly } from "../system/index.ts";
import { classifyFolder, type ListingProblem, type ManifestText, manifestNames } from "./listing.ts";

export interface StoredBackup {
  manifest: Manifest;
  manifestPath: string;
  dataPath: string;
}

export interface PartialFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface FolderListing {
  database: string;
  folder: string;
  /** Oldest first (ids sort by time). */
  backups: StoredBackup[];
  partials: PartialFile[];
  /** Backups whose manifest exists but was skipped (unreadable, invalid, data missing), with the reason. */
  problems: ListingProblem[];
  /** Backups whose manifest is valid but whose data file is gone (also in `problems`): verify fails them. */
  missingData?: StoredBackup[];
}

/** A partial file this old cannot belong to a running backup (the lock serialises runs; this guards shared folders). */
export const STALE_PARTIAL_AGE_MS = 60 * 60 * 1000;

/** Deletes partial files older than STALE_PARTIAL_AGE_MS; returns their paths. */
export function removeStalePartials(backupDir: string, database: string, nowMs: number): string[] {
  const removed: string[] = [];
  for (const p of listFolder(backupDir, database).partials) {
    if (nowMs - p.mtimeMs < STALE_PARTIAL_AGE_MS) continue;
    removeQuietly(p.path);
    removed.push(p.path);
  }
  return removed;
}

export function databaseFolder(backupDir: string, database: string): string {
  if (!DATABASE_NAME_RE.test(database)) throw new Error(`unsafe database name ${JSON.stringify(database)}`);
  return join(backupDir, database);
}

/**
 * The text of a manifest file, refusing without reading it a symlink or other
 * non-regular file, and a file far larger than any manifest (a planted 6 GiB
 * file would otherwise be read whole into memory).
 */
export function readManifestText(path: string): string {
  const st = lstatSync(path);
  if (!st.isFile()) throw new Error("manifest is not a regular file");
  if (st.size > MAX_MANIFEST_BYTES) throw new Error("manifest is too large");
  return readFileSync(path, "utf8");
}

/** Lists one database's folder (the rule is listing.ts); a missing folder is an empty listing. */
export function listFolder(backupDir: string, database: string): FolderListing {
  const folder = databaseFolder(backupDir, database);
  const listing: FolderListing = { database, folder, backups: [], partials: [], problems: [], missingData: [] };
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return listing;
    throw notAFolderError(err, folder);
  }
  const texts = new Map<string, ManifestText>();
  for (const name of manifestNames(names)) {
    try {
      texts.set(name, readManifestText(join(folder, name)));
    } catch (err) {
      texts.set(name, (err as NodeJS.ErrnoException).code === "ENOENT" ? null : (err as Error));
    }
  }
  const c = classifyFolder(
    names.map((name) => ({ name, regular: isRegularFile(join(folder, name)) })),
    texts,
    { database, pathOf: (n) => join(folder, n), checkSize: false },
  );
  for (const b of c.backups)
    listing.backups.push({
      manifest: b.manifest,
      manifestPath: join(folder, b.manifestName),
      dataPath: join(folder, b.data.name),
    });
  listing.problems = c.problems;
  for (const m of c.missingData)
    listing.missingData!.push({
      manifest: m.manifest,
      manifestPath: join(folder, m.manifestName),
      dataPath: join(folder, m.manifest.stored.file),
    });
  for (const { name } of c.partials) {
    try {
      const st = lstatSync(join(folder, name));
      listing.partials.push({ path: join(folder, name), size: st.size, mtimeMs: st.mtimeMs });
    } catch {
      // vanished while listing: nothing to report
    }
  }
  return listing;
}

/** Database names that have a folder under `backupDir` (configured or not). */
export function databasesOnDisk(backupDir: string): string[] {
  try {
    return readdirSync(backupDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && DATABASE_NAME_RE.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw notAFolderError(err, backupDir);
  }
}

/** lstat: a symlink is never a regular file here; a name that vanished meanwhile counts as regular (it is then missing). */
function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return true;
  }
}

/** A readdir error on a folder that is (or sits under) a regular file, as one clear sentence. */
function notAFolderError(err: unknown, folder: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== "ENOTDIR") return err;
  return new OperationError(`${fileInTheWay(folder) ?? folder} is a file, not a folder`);
}
