/**
 * A folder as a destination (a second disk, a NAS mount): the same layout as
 * backup_dir. Every file is copied to a hidden temporary name, fsynced,
 * renamed into place and the folder fsynced, so a key either does not exist
 * or is complete, whatever happens to this process or the machine.
 */
import { constants, createReadStream, createWriteStream, existsSync, lstatSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { copyFile, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { DirDestination } from "./config.ts";
import type { Backend, RemoteFile } from "./backend.ts";
import { assertKey } from "./keys.ts";
import { commitRename, ensureDir, FILE_MODE, fsyncDir, removeQuietly, tempPathFor } from "../fs.ts";
import { DATABASE_NAME_RE } from "../config-schema.ts";

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

export function createDirBackend(dest: DirDestination): Backend {
  const root = dest.path;
  const pathOf = (key: string) => {
    assertKey(key);
    return join(root, key);
  };
  return {
    describe: `dir:${root}`,
    async put(localPath, key) {
      const target = pathOf(key);
      // Never create the root: an unmounted NAS must be an error, not a silent copy onto the local disk.
      if (!existsSync(root)) throw new Error(`destination folder ${root} does not exist (not mounted?); create it first`);
      await copyDurably(localPath, target);
    },
    async get(key, localPath) {
      const src = pathOf(key);
      await pipeline(createReadStream(src), createWriteStream(localPath, { flags: "wx", mode: FILE_MODE }));
    },
    async readText(key) {
      try {
        return readFileSync(pathOf(key), "utf8");
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
      const databases = prefix === "" ? safeReaddir(root).filter((n) => DATABASE_NAME_RE.test(n)) : [prefix.replace(/\/$/, "")];
      const out: RemoteFile[] = [];
      for (const db of databases) {
        for (const name of safeReaddir(join(root, db))) {
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
