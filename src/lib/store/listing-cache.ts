/**
 * What a destination's small files (manifests, tags markers) said when this
 * machine last read or wrote them, kept in backup_dir so that a run reads a
 * remote manifest only when it is new or changed (docs/folder-listing.md,
 * "Reading a destination again"). One file per destination and database,
 * `<backup_dir>/.sqlbak-listings/<destination>/<database>.json`; a cache,
 * never a source of truth: deleting it costs one read of each manifest.
 *
 * A cached text is used only when the listing shows the file unchanged: the
 * same size and the same validator — the ETag at S3 (a content hash), the
 * modification time where the folder reports one (a `dir` destination) — or,
 * at S3, an ETag equal to the MD5 of the cached text or of the local
 * manifest with the same name (a single-part upload's ETag is its MD5). SFTP
 * and rclone list a coarse time, which counts only once it has settled
 * (settle.ts): a fresh file there is read by every run until then. Only texts
 * that parsed are kept, so a manifest that cannot be read or parsed is read
 * again by every run and reported every time.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_MANIFEST_BYTES } from "../model/index.ts";
import type { RemoteFile } from "./backend.ts";

export const LISTINGS_DIR = ".sqlbak-listings";

interface Entry {
  size: number;
  /**
   * `etag:<hex>`, `mtime:<ms>` or `stamp:<kind>:<time>`; absent for a text
   * this machine uploaded and has not listed since, or whose time had not
   * settled when it was read.
   */
  tag?: string;
  md5: string;
  text: string;
}

interface CacheFile {
  format: 1;
  /** The destination's `describe`: a cache of another bucket or path under the same name is not used. */
  location: string;
  files: Record<string, Entry>;
}

/** What `listBackups` asks and tells about the texts it would read (names are file names in the database's folder). */
export interface TextCache {
  /** The text of `name`, when the listing shows it unchanged since it was cached. */
  lookup(name: string, file: RemoteFile): string | undefined;
  /** Records the text of a listed file that parsed. */
  remember(name: string, file: RemoteFile | undefined, text: string): void;
  /** Drops every entry but these names (what the folder holds now). */
  keepOnly(names: Set<string>): void;
}

/** A TextCache kept in a file: `save` writes it back when it changed (best effort: a cache). */
export interface ListingCache extends TextCache {
  /** Records a text this run uploaded as `name`, from the local file it sent. */
  rememberUpload(name: string, localPath: string): void;
  forget(name: string): void;
  save(): void;
}

const md5 = (text: string) => new Bun.CryptoHasher("md5").update(text).digest("hex");

/**
 * What says a listed file is unchanged: a content hash (ETag), a modification
 * time, or a settled coarse time (`stamp`, settle.ts); none for a fresh file
 * at SFTP or rclone.
 */
function validator(f: RemoteFile): string | undefined {
  if (f.etag) return `etag:${f.etag}`;
  if (f.mtimeMs !== undefined) return `mtime:${f.mtimeMs}`;
  return f.stamp === undefined ? undefined : `stamp:${f.stamp}`;
}

function load(path: string, location: string): Record<string, Entry> {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<CacheFile>;
    if (parsed.format !== 1 || parsed.location !== location || typeof parsed.files !== "object" || !parsed.files)
      return {};
    const files: Record<string, Entry> = {};
    for (const [name, e] of Object.entries(parsed.files)) {
      if (typeof e?.text === "string" && typeof e.size === "number" && typeof e.md5 === "string") files[name] = e;
    }
    return files;
  } catch {
    return {}; // missing or damaged: everything is read again
  }
}

/**
 * The cache of `destination` (whose backend describes itself as `location`)
 * for `database`; `localFolder` is the database's folder in backup_dir, whose
 * manifests stand in for an S3 object with their MD5 as ETag.
 */
export function openListingCache(
  backupDir: string,
  destination: string,
  location: string,
  database: string,
): ListingCache {
  const dir = join(backupDir, LISTINGS_DIR, destination);
  const path = join(dir, `${database}.json`);
  const localFolder = join(backupDir, database);
  const files = load(path, location);
  let dirty = false;
  const put = (name: string, e: Entry) => {
    const old = files[name];
    if (old && old.size === e.size && old.tag === e.tag && old.md5 === e.md5) return;
    files[name] = e;
    dirty = true;
  };
  const fromLocal = (name: string, f: RemoteFile): string | undefined => {
    if (!f.etag) return undefined;
    const local = join(localFolder, name);
    try {
      const st = statSync(local);
      if (!st.isFile() || st.size !== f.size || st.size > MAX_MANIFEST_BYTES) return undefined;
      const text = readFileSync(local, "utf8");
      return md5(text) === f.etag ? text : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    lookup(name, f) {
      const e = files[name];
      const tag = validator(f);
      let text: string | undefined;
      if (e && e.size === f.size && ((tag !== undefined && e.tag === tag) || (f.etag && f.etag === e.md5)))
        text = e.text;
      return text ?? fromLocal(name, f);
    },
    remember(name, f, text) {
      put(name, { size: f?.size ?? Buffer.byteLength(text), tag: f ? validator(f) : undefined, md5: md5(text), text });
    },
    rememberUpload(name, localPath) {
      try {
        const text = readFileSync(localPath, "utf8");
        put(name, { size: Buffer.byteLength(text), md5: md5(text), text });
      } catch {
        // gone meanwhile: the next listing reads it
      }
    },
    keepOnly(names) {
      for (const name of Object.keys(files)) {
        if (names.has(name)) continue;
        delete files[name];
        dirty = true;
      }
    },
    forget(name) {
      if (!(name in files)) return;
      delete files[name];
      dirty = true;
    },
    save() {
      if (!dirty) return;
      try {
        if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
        const out: CacheFile = { format: 1, location, files };
        // Renamed into place (never half a file), not fsynced: a cache lost in a crash is only read again.
        const temp = join(dir, `.${database}.${process.pid}.tmp`);
        writeFileSync(temp, JSON.stringify(out), { mode: 0o600 });
        renameSync(temp, path);
        dirty = false;
      } catch {
        // an unwritable backup_dir only costs the reads next time
      }
    },
  };
}
