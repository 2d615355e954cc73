/**
 * A folder of backups on this machine, behind the folder contract (backend.ts):
 * `backup_dir` itself, and the same implementation as a `dir` destination (a
 * second disk, a NAS mount). Every file put is copied to a hidden temporary
 * name, fsynced, renamed into place and the folder fsynced, so a key either
 * does not exist or is complete, whatever happens to this process or the machine.
 *
 * The two uses differ only where they did before one implementation served
 * both (docs/folder-listing.md):
 * - backup_dir: files are read in place (`localPath`), listings name them by
 *   path, list every entry (a symlink or folder flagged as not regular, never
 *   followed), leave the size check to verify, and follow a `<database>`
 *   folder that is a symlink to a folder;
 * - destination: a `<database>` entry that is a symlink or a file is refused,
 *   only regular files are listed, sizes are checked by the listing, and the
 *   root is never created (an unmounted NAS is an error, not a copy onto the
 *   local disk).
 */
import {
  constants,
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  unlinkSync,
} from "node:fs";
import { copyFile, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { DATABASE_NAME_RE, MAX_MANIFEST_BYTES, OperationError } from "../model/index.ts";
import {
  commitRename,
  ensureDir,
  FILE_MODE,
  fileInTheWay,
  fsyncDir,
  removeQuietly,
  tempPathFor,
} from "../system/index.ts";
import type { Backend, RemoteFile } from "./backend.ts";
import { assertKey } from "./keys.ts";

export type LocalFolderMode = "backup_dir" | "destination";

/** A local folder of backups; `localPath` is present for backup_dir only (see the file comment). */
export interface LocalFolder extends Backend {
  readonly root: string;
}

export interface BackupDirFolder extends LocalFolder {
  localPath(key: string): string;
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Copies `from` to `to` through a temporary name beside `to`: durable and all-or-nothing. */
async function copyDurably(from: string, to: string): Promise<void> {
  ensureDir(dirname(to));
  const temp = tempPathFor(to);
  try {
    // copyFile streams in the kernel (copy_file_range / reflink where the file system has it).
    await copyFile(from, temp, constants.COPYFILE_EXCL);
    await fsyncPath(temp);
    commitRename(temp, to);
  } catch (err) {
    removeQuietly(temp);
    throw err;
  }
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

export function databaseFolder(backupDir: string, database: string): string {
  if (!DATABASE_NAME_RE.test(database)) throw new Error(`unsafe database name ${JSON.stringify(database)}`);
  return join(backupDir, database);
}

/**
 * Refuses a database folder that is a symlink or not a folder: following it
 * would write copies into, and let rotation delete from, whatever it points
 * at. A folder that does not exist yet is fine (put creates it).
 */
function checkDestinationFolder(root: string, database: string): string {
  const folder = databaseFolder(root, database);
  let st;
  try {
    st = lstatSync(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return folder;
    throw err;
  }
  if (st.isSymbolicLink())
    throw new Error(`destination folder ${folder} is a symlink, not a folder; refusing to follow it`);
  if (!st.isDirectory()) throw new Error(`destination folder ${folder} is a file, not a folder`);
  return folder;
}

/** lstat of a file under the folder, refusing anything but a regular file; null when missing. */
function regularFile(path: string): { size: number } | null {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  if (!st.isFile()) throw new Error(`${path} is not a regular file`);
  return st;
}

/** A readdir error on a folder that is (or sits under) a regular file, as one clear sentence. */
function notAFolderError(err: unknown, folder: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== "ENOTDIR") return err;
  return new OperationError(`${fileInTheWay(folder) ?? folder} is a file, not a folder`);
}

/** Database names that have a folder under `backupDir` (configured or not; a symlink is not a folder here). */
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

export function openLocalFolder(root: string, mode: "destination"): LocalFolder;
export function openLocalFolder(root: string, mode?: "backup_dir"): BackupDirFolder;
/** Opens `root` as backup_dir (the default) or as a `dir` destination. */
export function openLocalFolder(root: string, mode: LocalFolderMode = "backup_dir"): LocalFolder {
  const destination = mode === "destination";
  /** The folder of one database, with the guard of this mode. */
  const folderOf = (database: string) =>
    destination ? checkDestinationFolder(root, database) : databaseFolder(root, database);
  const pathOf = (key: string) => {
    assertKey(key);
    return join(folderOf(key.split("/")[0]!), key.split("/")[1]!);
  };
  /** The entries of one database's folder; a missing folder has none. */
  const listDatabase = (database: string): RemoteFile[] => {
    const folder = folderOf(database);
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || (destination && code === "ENOTDIR")) return [];
      throw notAFolderError(err, folder);
    }
    const out: RemoteFile[] = [];
    for (const name of names) {
      let st;
      try {
        st = lstatSync(join(folder, name));
      } catch {
        continue; // vanished while listing
      }
      if (st.isFile()) out.push({ key: `${database}/${name}`, size: st.size, mtimeMs: st.mtimeMs, regular: true });
      else if (!destination)
        out.push({ key: `${database}/${name}`, size: st.size, mtimeMs: st.mtimeMs, regular: false });
    }
    return out;
  };
  const folder: LocalFolder = {
    root,
    describe: destination ? `dir:${root}` : root,
    checkSizes: destination,
    async put(localPath, key) {
      const target = pathOf(key);
      if (destination && !existsSync(root))
        throw new Error(`destination folder ${root} does not exist (not mounted?); create it first`);
      await copyDurably(localPath, target);
    },
    async get(key, localPath) {
      const src = pathOf(key);
      if (!regularFile(src)) throw new Error(`${src} does not exist`);
      await pipeline(createReadStream(src), createWriteStream(localPath, { flags: "wx", mode: FILE_MODE }));
    },
    async readText(key) {
      try {
        return readManifestText(pathOf(key));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw err;
      }
    },
    async stat(key): Promise<RemoteFile | null> {
      try {
        const st = lstatSync(pathOf(key));
        return st.isFile() ? { key, size: st.size } : null;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw err;
      }
    },
    async list(prefix) {
      if (prefix !== "") return listDatabase(prefix.replace(/\/$/, ""));
      let names: string[];
      try {
        names = readdirSync(root);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") return [];
        throw err;
      }
      return names.filter((n) => DATABASE_NAME_RE.test(n)).flatMap(listDatabase);
    },
    async remove(key) {
      const p = pathOf(key);
      try {
        unlinkSync(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw err;
      }
      fsyncDir(dirname(p));
    },
    async close() {},
  };
  if (destination) return folder;
  return Object.assign(folder, {
    localPath: (key: string) => (key.includes("/") ? pathOf(key) : databaseFolder(root, key)),
  });
}
