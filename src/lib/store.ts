/**
 * The local backup folder: `<backup_dir>/<database>/<id>.sqlite.zst` (`.age`
 * appended when encrypted) plus `<id>.json`. Contract: a backup is listed only when its manifest parses and
 * its data file exists; everything else (temporary files, data without a
 * manifest) is a partial left by an interrupted run, reported but never listed.
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DATABASE_NAME_RE } from "./config-schema.ts";
import { describeError } from "./errors.ts";
import { MAX_MANIFEST_BYTES, type Manifest, parseManifest } from "./manifest.ts";
import { DATA_FILE_RE, MANIFEST_EXTENSION, parseBackupId } from "./names.ts";
import { LOCK_FILE } from "./lock.ts";
import { TEMP_SUFFIX } from "./fs.ts";

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
  /** One line per file that looked like a manifest but was skipped, with the reason. */
  problems: string[];
  /** Backups whose manifest is valid but whose data file is gone (also in `problems`): verify fails them. */
  missingData?: StoredBackup[];
}

export function databaseFolder(backupDir: string, database: string): string {
  if (!DATABASE_NAME_RE.test(database)) throw new Error(`unsafe database name ${JSON.stringify(database)}`);
  return join(backupDir, database);
}

function isOwnBookkeeping(name: string): boolean {
  return name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`) || name.startsWith(`${LOCK_FILE}-`);
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

/** The problem of a backup whose data file is gone. */
export function missingDataProblem(m: Manifest): string {
  return `data file ${m.stored.file} is missing`;
}

/** Lists one database's folder; a missing folder is an empty listing. */
export function listFolder(backupDir: string, database: string): FolderListing {
  const folder = databaseFolder(backupDir, database);
  const listing: FolderListing = { database, folder, backups: [], partials: [], problems: [], missingData: [] };
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return listing;
    throw err;
  }
  const present = new Set(names);
  const claimed = new Set<string>();
  // Ids with a manifest file, readable or not: their data is never a partial (a manifest we cannot
  // read today — permissions, a newer format, damage — must not get its backup swept away).
  const hasManifest = new Set<string>();
  for (const name of names.sort()) {
    if (!name.endsWith(MANIFEST_EXTENSION) || name.startsWith(".")) continue;
    const path = join(folder, name);
    if (!parseBackupId(name.slice(0, -MANIFEST_EXTENSION.length))) continue;
    hasManifest.add(name.slice(0, -MANIFEST_EXTENSION.length));
    try {
      const manifest = parseManifest(readManifestText(path), name, database);
      if (!present.has(manifest.stored.file)) {
        listing.missingData!.push({ manifest, manifestPath: path, dataPath: join(folder, manifest.stored.file) });
        throw new Error(missingDataProblem(manifest));
      }
      claimed.add(name).add(manifest.stored.file);
      listing.backups.push({ manifest, manifestPath: path, dataPath: join(folder, manifest.stored.file) });
    } catch (err) {
      claimed.add(name);
      listing.problems.push(`${path}: ${describeError(err)}`);
    }
  }
  for (const name of names) {
    if (claimed.has(name) || isOwnBookkeeping(name)) continue;
    // SQLite may leave a rollback journal beside a temporary snapshot (`….tmp-journal`).
    const isTemp = name.startsWith(".") && (name.endsWith(TEMP_SUFFIX) || name.endsWith(`${TEMP_SUFFIX}-journal`));
    const dataId = DATA_FILE_RE.exec(name)?.[1];
    const isOrphanData = dataId !== undefined && parseBackupId(dataId) !== null && !hasManifest.has(dataId);
    if (!isTemp && !isOrphanData) continue;
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
    throw err;
  }
}
