/**
 * A folder as a destination (a second disk, a NAS mount): the same layout as
 * backup_dir. Every file is copied to a hidden temporary name, fsynced,
 * renamed into place and the folder fsynced, so a key either does not exist
 * or is complete, whatever happens to this process or the machine.
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
import type { DirDestination } from "../config/index.ts";
import { DATABASE_NAME_RE, MAX_MANIFEST_BYTES } from "../model/index.ts";
import { assertKey, type Backend, type RemoteFile } from "../store/index.ts";
import { commitRename, ensureDir, FILE_MODE, fsyncDir, removeQuietly, tempPathFor } from "../system/index.ts";

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
 * Refuses a database folder that is a symlink or not a folder: following it
 * would write copies into, and let rotation delete from, whatever it points
 * at. A folder that does not exist yet is fine (put creates it).
 */
function checkDatabaseFolder(root: string, database: string): string {
  const folder = join(root, database);
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

/** lstat of a file under the destination, refusing anything but a regular file; null when missing. */
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

export function createDirBackend(dest: DirDestination): Backend {
  const root = dest.path;
  const pathOf = (key: string) => {
    assertKey(key);
    checkDatabaseFolder(root, key.split("/")[0]!);
    return join(root, key);
  };
  return {
    describe: `dir:${root}`,
    async put(localPath, key) {
      const target = pathOf(key);
      // Never create the root: an unmounted NAS must be an error, not a silent copy onto the local disk.
      if (!existsSync(root))
        throw new Error(`destination folder ${root} does not exist (not mounted?); create it first`);
      await copyDurably(localPath, target);
    },
    async get(key, localPath) {
      const src = pathOf(key);
      if (!regularFile(src)) throw new Error(`${src} does not exist`);
      await pipeline(createReadStream(src), createWriteStream(localPath, { flags: "wx", mode: FILE_MODE }));
    },
    async readText(key) {
      const path = pathOf(key);
      const st = regularFile(path);
      if (!st) return null;
      // Checked before reading: a planted huge file must not be read whole into memory.
      if (st.size > MAX_MANIFEST_BYTES) throw new Error("manifest is too large");
      return readFileSync(path, "utf8");
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
      const databases =
        prefix === "" ? safeReaddir(root).filter((n) => DATABASE_NAME_RE.test(n)) : [prefix.replace(/\/$/, "")];
      const out: RemoteFile[] = [];
      for (const db of databases) {
        for (const name of safeReaddir(checkDatabaseFolder(root, db))) {
          try {
            const st = lstatSync(join(root, db, name));
            if (st.isFile()) out.push({ key: `${db}/${name}`, size: st.size });
          } catch {
            // vanished while listing
          }
        }
      }
      return out;
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
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw err;
  }
}
