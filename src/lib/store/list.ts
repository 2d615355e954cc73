/**
 * The one listing routine for every folder of backups — backup_dir and each
 * destination — over the folder contract (backend.ts); the rule it applies is
 * listing.ts. A backup is listed only when its manifest parses (re-validated)
 * and its data file is present (with the promised size where the folder
 * checks sizes); a manifest that cannot be read is a problem whose data is
 * kept; only data without any manifest, or a temporary name, is a partial.
 * Packs and pack indexes are pieces: referenced, unreferenced or protected.
 * The guards are here, once: a manifest that is not a regular file or is
 * larger than MAX_MANIFEST_BYTES (by its listed size) is never read.
 */
import { join } from "node:path";
import { type ByteProgress, DATABASE_NAME_RE, MAX_MANIFEST_BYTES, type Manifest, storedPages } from "../model/index.ts";
import type { Backend, RemoteFile } from "./backend.ts";
import { databasePrefix } from "./keys.ts";
import { classifyFolder, type ListingProblem, type ManifestText, manifestNames } from "./listing.ts";
import type { TextCache } from "./listing-cache.ts";
import { applyTagMark, parseTagMark, type TagMark, tagsMarkName } from "./marks.ts";

export interface StoredBackup {
  manifest: Manifest;
  /** A real path for backup_dir (and a fetched copy), `<describe>/<key>` at a destination. */
  manifestPath: string;
  dataPath: string;
}

/** A backup as a listing found it: where it is named, and its keys in the folder. */
export interface ListedBackup extends StoredBackup {
  manifestKey: string;
  dataKey: string;
  /** The tags the manifest itself carries (`manifest.tags` has the marker applied, marks.ts). */
  manifestTags: string[];
  /** Its tags marker `<id>.tags.json`, when one is there and valid. */
  mark?: { key: string; value: TagMark };
}

export interface PartialFile {
  path: string;
  size: number;
  /** 0 where the folder does not report modification times. */
  mtimeMs: number;
}

export interface ListedPartial extends PartialFile {
  key: string;
}

/** A pack or pack index in a database's folder. */
export interface PieceFile {
  name: string;
  key: string;
  /** A real path for backup_dir, `<describe>/<key>` at a destination. */
  path: string;
  size: number;
}

/** The packs and pack indexes of a folder, each in exactly one list, sorted by name. */
export interface FolderPieces {
  /** Named by a manifest that parses (a listed backup or a problem); an index when its pack is. */
  referenced: PieceFile[];
  /** Named by no manifest while every manifest parses; stale (by the time in its name) ones may be freed. */
  unreferenced: (PieceFile & { stale: boolean })[];
  /** Named by no manifest that parses while some manifest could not be parsed (it might name them): kept. */
  protected: PieceFile[];
}

export interface FolderListing {
  database: string;
  /** The database's folder: a path for backup_dir, `<describe>/<database>` elsewhere. */
  folder: string;
  /** Oldest first (ids sort by time). */
  backups: StoredBackup[];
  /** Files that are not (yet) part of a backup: data without a manifest, temporary names. */
  partials: PartialFile[];
  /** Backups whose manifest exists but was skipped (unreadable, invalid, data missing), with the reason. */
  problems: ListingProblem[];
  /** Backups whose manifest is valid but whose data file is gone (also in `problems`): verify fails them. */
  missingData?: StoredBackup[];
  /** Pieces of pages backups; absent where a listing was not made by `listBackups`. */
  pieces?: FolderPieces;
}

/** What `listBackups` returns: a FolderListing that also knows the keys. */
export interface BackupListing extends FolderListing {
  backups: ListedBackup[];
  partials: ListedPartial[];
  missingData: ListedBackup[];
  pieces: FolderPieces;
}

export interface ListOptions {
  /** With it, a manifest or tags marker the listing shows unchanged is not read again (listing-cache.ts). */
  cache?: TextCache;
  /** The folder's files from a listing of the whole destination (`listByDatabase`), instead of listing it. */
  files?: RemoteFile[];
}

/**
 * Reads the named files of a database's folder: in one go where the folder
 * can (`readTexts`), else one by one; a failure is that file's Error.
 */
async function readAll(folder: Backend, database: string, names: string[]): Promise<ManifestText[]> {
  if (names.length === 0) return [];
  const keys = names.map((n) => `${database}/${n}`);
  const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));
  if (folder.readTexts) {
    return await folder.readTexts(keys).catch((err: unknown) => keys.map(() => asError(err)));
  }
  const out: ManifestText[] = [];
  for (const key of keys) out.push(await folder.readText(key).catch(asError));
  return out;
}

/**
 * Lists one database's folder (an empty listing when it has nothing); the
 * rule is listing.ts. `now` ages unreferenced pieces. With a cache, the
 * texts that parsed are remembered in it.
 */
export async function listBackups(
  folder: Backend,
  database: string,
  now = new Date(),
  opts: ListOptions = {},
): Promise<BackupListing> {
  const { cache } = opts;
  const prefix = databasePrefix(database);
  const local = folder.localPath ? folder.localPath(database) : null;
  const pathOf = (name: string) => (local ? join(local, name) : `${folder.describe}/${database}/${name}`);
  const files = opts.files ?? (await folder.list(prefix));
  const entries = files
    .filter((f) => f.key.startsWith(prefix))
    .map((f) => ({ ...f, name: f.key.slice(prefix.length) }));
  const texts = new Map<string, ManifestText>();
  const byName = new Map(entries.map((e) => [e.name, e]));
  const toRead: string[] = [];
  for (const name of manifestNames(byName.keys())) {
    const entry = byName.get(name)!;
    // Refused by what the listing says, before anything reads it: a planted link or huge file is never read.
    if (entry.regular === false) texts.set(name, new Error("manifest is not a regular file"));
    else if (entry.size > MAX_MANIFEST_BYTES) texts.set(name, new Error("manifest is too large"));
    else {
      const known = cache?.lookup(name, entry);
      texts.set(name, known ?? null); // in listing order; what is read is set below
      if (known === undefined) toRead.push(name);
    }
  }
  const read = await readAll(folder, database, toRead);
  for (const [i, name] of toRead.entries()) texts.set(name, read[i]!);
  const c = classifyFolder(entries, texts, {
    database,
    pathOf,
    checkSize: folder.checkSizes,
    nowMs: now.getTime(),
  });
  const piece = (e: (typeof entries)[number]): PieceFile => ({
    name: e.name,
    key: e.key,
    path: pathOf(e.name),
    size: e.size,
  });
  // Each backup's tags marker (marks.ts), read only where the listing shows one, with the manifests' guards.
  const marks = new Map<string, TagMark>();
  const markFiles = [...c.backups, ...c.missingData].flatMap((b) => {
    const entry = byName.get(tagsMarkName(b.manifest.id));
    return entry && entry.regular !== false && entry.size <= MAX_MANIFEST_BYTES ? [{ id: b.manifest.id, entry }] : [];
  });
  const markTexts = markFiles.map(({ entry }) => cache?.lookup(entry.name, entry));
  const unread = markTexts.flatMap((t, i) => (t === undefined ? [i] : []));
  const markRead = await readAll(
    folder,
    database,
    unread.map((i) => markFiles[i]!.entry.name),
  );
  unread.forEach((i, j) => {
    const t = markRead[j];
    markTexts[i] = typeof t === "string" ? t : undefined;
  });
  markFiles.forEach(({ id, entry }, i) => {
    const text = markTexts[i] ?? null;
    const mark = parseTagMark(text);
    if (mark) marks.set(id, mark);
    if (mark && text) cache?.remember(entry.name, entry, text);
  });
  if (cache) {
    // Only what parsed is kept: a manifest that cannot be read or parsed is read (and reported) by every run.
    for (const b of [...c.backups, ...c.missingData]) {
      const text = texts.get(b.manifestName);
      if (typeof text === "string") cache.remember(b.manifestName, byName.get(b.manifestName), text);
    }
    cache.keepOnly(new Set(byName.keys()));
  }
  const listed = (manifest: Manifest, manifestName: string): ListedBackup => {
    const mark = marks.get(manifest.id);
    return {
      manifest: mark ? { ...manifest, tags: applyTagMark(manifest.tags, mark) } : manifest,
      manifestKey: `${database}/${manifestName}`,
      dataKey: `${database}/${manifest.stored.file}`,
      manifestPath: pathOf(manifestName),
      dataPath: pathOf(manifest.stored.file),
      manifestTags: manifest.tags,
      ...(mark ? { mark: { key: `${database}/${tagsMarkName(manifest.id)}`, value: mark } } : {}),
    };
  };
  return {
    database,
    folder: local ?? `${folder.describe}/${database}`,
    backups: c.backups.map((b) => listed(b.manifest, b.manifestName)),
    partials: c.partials.map((p) => ({ key: p.key, path: pathOf(p.name), size: p.size, mtimeMs: p.mtimeMs ?? 0 })),
    problems: c.problems,
    missingData: c.missingData.map((m) => listed(m.manifest, m.manifestName)),
    pieces: {
      referenced: c.pieces.referenced.map(piece),
      unreferenced: c.pieces.unreferenced.map((u) => ({ ...piece(u.entry), stale: u.stale })),
      protected: c.pieces.protected.map(piece),
    },
  };
}

/**
 * One listing of the whole folder, by database (`<database>/` keys only): for
 * a run over many databases, a few pages of a listing instead of one request
 * per database. A database with no files has no entry.
 */
export async function listByDatabase(folder: Backend): Promise<Map<string, RemoteFile[]>> {
  const out = new Map<string, RemoteFile[]>();
  for (const f of await folder.list("")) {
    const slash = f.key.indexOf("/");
    const db = f.key.slice(0, slash);
    if (slash < 0 || !DATABASE_NAME_RE.test(db)) continue;
    const files = out.get(db);
    if (files) files.push(f);
    else out.set(db, [f]);
  }
  return out;
}

/** Database names that have files in the folder. */
export async function listedDatabases(folder: Backend): Promise<string[]> {
  const names = new Set<string>();
  for (const f of await folder.list("")) {
    const db = f.key.split("/")[0]!;
    if (DATABASE_NAME_RE.test(db)) names.add(db);
  }
  return [...names].sort();
}

/**
 * Downloads a backup (data, then manifest; a pages backup: map, every pack it
 * names, then manifest) into `into` under their own names, so verify and
 * restore can treat it as a local backup; checks each downloaded size against
 * the manifest. Pack indexes are not fetched: reading a backup never needs them.
 * `onProgress` hears the bytes downloaded so far, file by file (a backend streams
 * a file in one call), of the data file and packs together.
 */
export async function fetchBackup(
  folder: Backend,
  b: ListedBackup,
  into: string,
  onProgress?: ByteProgress,
): Promise<StoredBackup> {
  const dataPath = join(into, b.manifest.stored.file);
  const manifestPath = join(into, b.manifestKey.split("/")[1]!);
  const packs = storedPages(b.manifest)?.packs ?? [];
  const total = b.manifest.stored.size + packs.reduce((n, p) => n + p.size, 0);
  let done = 0;
  onProgress?.(done, total);
  const fetchChecked = async (key: string, path: string, want: number) => {
    await folder.get(key, path);
    const size = Bun.file(path).size;
    if (size !== want) throw new Error(`downloaded ${size} bytes of ${key}, manifest says ${want}`);
    done += size;
    onProgress?.(done, total);
  };
  await fetchChecked(b.dataKey, dataPath, b.manifest.stored.size);
  const database = b.dataKey.split("/")[0]!;
  for (const p of packs) await fetchChecked(`${database}/${p.name}`, join(into, p.name), p.size);
  await folder.get(b.manifestKey, manifestPath);
  return { manifest: b.manifest, manifestPath, dataPath };
}
