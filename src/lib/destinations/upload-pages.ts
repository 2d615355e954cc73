/**
 * The pieces of a pages backup on their way to a destination (sync.ts uploads
 * the map and the manifest). A destination receives only what it lacks: each
 * pack the backup names goes up unless a file of that name and of the size
 * the manifest records is already there, followed by its index when the local
 * folder has one and the destination does not. Each uploaded file is checked
 * like a data file (size, and with upload_check = "checksum" the SHA-256 read
 * back: the manifest's for a pack, the local file's for an index).
 *
 * A destination has no lock, and a rotation there frees pieces in two phases
 * (a mark first, the removal an hour later; retention/remote-free.ts). A pack
 * found already there may be one that a rotation marked and is about to
 * remove, so just before the manifest is published, every pack of the backup
 * that a mark lists (and its index, when marked too) is uploaded again: same
 * name, same bytes, an atomic replace. Nothing is removed here.
 *
 * The copies of the id key beside the backups (`id-key-<fingerprint>[.age]`)
 * go up too, before the first pack: a folder restored from the destination
 * adopts them and keeps deduplicating. A copy already there (by name) is never
 * replaced, the local `.sqlbak-id-key` never leaves the machine, and a plain
 * copy never goes up beside encrypted backups (it would hand page ids' key to
 * whoever reads the destination).
 */
import { existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ResolvedDestination } from "../config/index.ts";
import { PACK_FILE_RE, packIndexName, type StoredPages } from "../model/index.ts";
import { ID_KEY_COPY_RE } from "../pages/index.ts";
import { type Backend, markedPieces, type StoredBackup, type TextCache } from "../store/index.ts";
import { removeQuietly, tempPathFor } from "../system/index.ts";

/** SHA-256 of a local file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

/** What an upload knows of the destination's folder, and reports of what it sent. */
export interface UploadState {
  /** File name → size of what the database's folder at the destination holds; kept up to date by the upload. */
  present: Map<string, number>;
  /** Called with each file uploaded (its key and bytes), the manifest excepted. */
  onUploaded?: (key: string, size: number) => void;
  /** Texts at the destination this machine has seen (its free marks are read through it). */
  cache?: TextCache;
}

/**
 * Uploads `localPath` as `key`, then checks the copy: its size, and with
 * upload_check = "checksum" its SHA-256 read back (into a partial beside the
 * local file, swept by a later backup if we die meanwhile).
 */
export async function putChecked(
  backend: Backend,
  dest: ResolvedDestination,
  localPath: string,
  key: string,
  want: { size: number; sha256: string; what: string },
): Promise<void> {
  await backend.put(localPath, key);
  const st = await backend.stat(key);
  if (!st) throw new Error(`${key} is missing right after its upload`);
  if (st.size !== want.size) throw new Error(`${key} is ${st.size} bytes after upload, ${want.what} ${want.size}`);
  if (dest.uploadCheck !== "checksum") return;
  const temp = tempPathFor(localPath);
  try {
    await backend.get(key, temp);
    const sha = await sha256File(temp);
    if (sha !== want.sha256)
      throw new Error(`${key} reads back with sha256 ${sha.slice(0, 12)}…, ${want.what} ${want.sha256.slice(0, 12)}…`);
  } finally {
    removeQuietly(temp);
  }
}

/**
 * The names the index beside pack `packName` may have (same stem): plain for a plain pack; for an
 * encrypted one sealed under the id key (what backups write) or, from older backups, an age file.
 */
function indexNamesOf(packName: string): string[] {
  const m = PACK_FILE_RE.exec(packName);
  if (!m) return [];
  const stem = `pack-${m[1]}-${m[2]}`;
  return m[3] === undefined ? [packIndexName(stem)] : [packIndexName(stem, "sealed"), packIndexName(stem, "age")];
}

async function putPiece(
  backend: Backend,
  dest: ResolvedDestination,
  database: string,
  localPath: string,
  name: string,
  want: { size: number; sha256: string; what: string },
  state: UploadState,
): Promise<void> {
  const key = `${database}/${name}`;
  await putChecked(backend, dest, localPath, key, want);
  state.present.set(name, want.size);
  state.onUploaded?.(key, want.size);
}

/** Uploads the index of `packName` when it is local and (unless `again`) the destination lacks it. */
async function putIndex(
  backend: Backend,
  dest: ResolvedDestination,
  database: string,
  folder: string,
  packName: string,
  state: UploadState,
  again: boolean,
): Promise<string | null> {
  const name = indexNamesOf(packName).find((n) => existsSync(join(folder, n)));
  if (name === undefined) return null;
  const path = join(folder, name);
  const size = statSync(path).size;
  if (!again && state.present.get(name) === size) return null;
  const sha256 = dest.uploadCheck === "checksum" ? await sha256File(path) : "";
  await putPiece(backend, dest, database, path, name, { size, sha256, what: "the local index is" }, state);
  return name;
}

/**
 * Uploads each copy of an id key in the folder of `b` that the destination
 * lacks (sealed copies only when `b` is encrypted); returns the names sent.
 */
export async function uploadIdKeyCopies(
  backend: Backend,
  dest: ResolvedDestination,
  b: StoredBackup,
  state: UploadState,
): Promise<string[]> {
  const database = b.manifest.database;
  const folder = dirname(b.dataPath);
  const encrypted = Boolean(b.manifest.stored.encryption);
  const sent: string[] = [];
  for (const name of readdirSync(folder).sort()) {
    const m = ID_KEY_COPY_RE.exec(name);
    if (!m || (encrypted && !m[2]) || state.present.has(name)) continue;
    const path = join(folder, name);
    const st = lstatSync(path, { throwIfNoEntry: false }); // a symlink is not a copy sqlbak wrote
    if (!st?.isFile()) continue;
    const sha256 = dest.uploadCheck === "checksum" ? await sha256File(path) : "";
    await putPiece(backend, dest, database, path, name, { size: st.size, sha256, what: "the local copy is" }, state);
    sent.push(name);
  }
  return sent;
}

/**
 * Uploads the packs (and indexes) of pages backup `b` that the destination
 * lacks; returns the names uploaded. Throws on any mismatch.
 */
export async function uploadPacks(
  backend: Backend,
  dest: ResolvedDestination,
  b: StoredBackup,
  pages: StoredPages,
  state: UploadState,
): Promise<Set<string>> {
  const database = b.manifest.database;
  const folder = dirname(b.dataPath);
  const sent = new Set<string>(await uploadIdKeyCopies(backend, dest, b, state));
  for (const p of pages.packs) {
    if (state.present.get(p.name) !== p.size) {
      const want = { size: p.size, sha256: p.sha256, what: "manifest says" };
      await putPiece(backend, dest, database, join(folder, p.name), p.name, want, state);
      sent.add(p.name);
    }
    const index = await putIndex(backend, dest, database, folder, p.name, state, false);
    if (index) sent.add(index);
  }
  return sent;
}

/**
 * Uploads again every pack of `pages` (and index) that a mark at the
 * destination lists and this upload did not just send (`sent`): a rotation
 * may be about to remove it, and the manifest about to be published names it.
 */
export async function reuploadMarked(
  backend: Backend,
  dest: ResolvedDestination,
  b: StoredBackup,
  pages: StoredPages,
  state: UploadState,
  sent: Set<string>,
): Promise<void> {
  const database = b.manifest.database;
  const marked = await markedPieces(backend, database, state.cache);
  if (marked.size === 0) return;
  const folder = dirname(b.dataPath);
  for (const p of pages.packs) {
    if (marked.has(p.name) && !sent.has(p.name)) {
      const want = { size: p.size, sha256: p.sha256, what: "manifest says" };
      await putPiece(backend, dest, database, join(folder, p.name), p.name, want, state);
    }
    if (indexNamesOf(p.name).some((n) => marked.has(n) && !sent.has(n)))
      await putIndex(backend, dest, database, folder, p.name, state, true);
  }
}

/** File name → size of the database's folder at the destination. */
export async function presentFiles(backend: Backend, database: string): Promise<Map<string, number>> {
  const prefix = `${database}/`;
  const out = new Map<string, number>();
  for (const f of await backend.list(prefix))
    if (f.key.startsWith(prefix) && f.regular !== false) out.set(f.key.slice(prefix.length), f.size);
  return out;
}
