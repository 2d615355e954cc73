/**
 * Bringing the id key's copies back from the destinations. A database folder
 * of backup_dir with neither `.sqlbak-id-key` nor a copy `id-key-<fingerprint>[.age]`
 * (backup_dir restored from a destination without them, or lost) would start
 * a new key, and its next backup would store every page again. Before an
 * incremental backup, such a folder receives the copies each destination holds
 * (sealed copies only when backups are encrypted), which the backup then
 * adopts like any copy in the folder (pages/id-key.ts: one that does not open,
 * or whose content is not the key its name gives, is skipped with a warning).
 *
 * Nothing is ever replaced: each copy is downloaded under a temporary name,
 * fsynced, then linked to its name, which fails when the name exists; the
 * folder's lock is not needed. A destination that fails is a warning only.
 */
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readdirSync,
  utimesSync,
} from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig } from "../config/index.ts";
import { ID_KEY_COPY_RE, LOCAL_ID_KEY_FILE } from "../pages/index.ts";
import { type Backend, databaseFolder } from "../store/index.ts";
import { ensureDir, FILE_MODE, fsyncDir, removeQuietly, tempPathFor } from "../system/index.ts";
import { describeFailure, tryOpenBackend } from "./open.ts";

/** Far above any age file of 32 bytes; a larger remote file is not a copy of a key. */
const MAX_COPY_BYTES = 64 * 1024;

export interface IdKeyFetchResult {
  /** Copies brought into the folder, as `<destination>: <file name>`. */
  fetched: string[];
  /** Destinations that could not be read, one sentence each. */
  warnings: string[];
}

/** True when the folder has the local key or a copy of one (anything by those names counts). */
function hasKey(folder: string): boolean {
  if (!existsSync(folder)) return false;
  return readdirSync(folder).some((n) => n === LOCAL_ID_KEY_FILE || ID_KEY_COPY_RE.test(n));
}

/** Downloads `key` as `folder/name`, never over an existing file; false when the name was taken meanwhile. */
async function download(backend: Backend, key: string, folder: string, name: string, mtimeMs?: number) {
  const path = join(folder, name);
  const temp = tempPathFor(path);
  try {
    await backend.get(key, temp);
    const fd = openSync(temp, "r+");
    try {
      fchmodSync(fd, FILE_MODE); // a plain copy is the raw key
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // Adoption takes the newest copy: keep the destination's time where it tells it.
    if (mtimeMs !== undefined) utimesSync(temp, new Date(), new Date(mtimeMs));
    try {
      linkSync(temp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
  } finally {
    removeQuietly(temp);
  }
  fsyncDir(folder);
  return true;
}

/**
 * For a database whose folder holds no id key at all, downloads the copies of
 * id keys the destinations hold. Never throws for a destination's failure.
 */
export async function fetchIdKeyCopies(config: ResolvedConfig, database: string): Promise<IdKeyFetchResult> {
  const out: IdKeyFetchResult = { fetched: [], warnings: [] };
  const folder = databaseFolder(config.backupDir, database);
  if (config.destinations.length === 0 || hasKey(folder)) return out;
  const encrypted = config.encryption !== null;
  for (const dest of config.destinations) {
    const backend = await tryOpenBackend(dest);
    if (backend instanceof Error) {
      out.warnings.push(`${database}: could not look for the id key at ${dest.name}: ${describeFailure(backend)}`);
      continue;
    }
    try {
      const prefix = `${database}/`;
      for (const f of await backend.list(prefix)) {
        const name = f.key.slice(prefix.length);
        const m = ID_KEY_COPY_RE.exec(name);
        if (!f.key.startsWith(prefix) || !m || f.regular === false || f.size > MAX_COPY_BYTES) continue;
        if (encrypted && !m[2]) continue; // a plain key has no place beside encrypted backups
        ensureDir(folder);
        if (lstatSync(join(folder, name), { throwIfNoEntry: false })) continue;
        if (await download(backend, f.key, folder, name, f.mtimeMs)) out.fetched.push(`${dest.name}: ${name}`);
      }
    } catch (err) {
      out.warnings.push(`${database}: could not fetch the id key from ${dest.name}: ${describeFailure(err)}`);
    } finally {
      await backend.close().catch(() => undefined);
    }
  }
  return out;
}
