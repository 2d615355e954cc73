/**
 * What a destination holds, read the way store.ts reads backup_dir: a backup
 * exists remotely only when its manifest parses (re-validated like a local
 * one) and its data file is listed with the size the manifest promises.
 * Anything else (data without a manifest: an interrupted upload) is a partial.
 * Remote backups are shown as StoredBackups whose paths are descriptive URLs,
 * and fetched into a local folder before anything reads their bytes.
 */
import { join } from "node:path";
import { DATABASE_NAME_RE } from "../config-schema.ts";
import { describeError } from "../errors.ts";
import { parseManifest } from "../manifest.ts";
import { DATA_FILE_RE, MANIFEST_EXTENSION, parseBackupId } from "../names.ts";
import type { StoredBackup } from "../store.ts";
import type { Backend, RemoteFile } from "./backend.ts";
import { databasePrefix } from "./keys.ts";

export interface RemoteBackup extends StoredBackup {
  manifestKey: string;
  dataKey: string;
}

export interface RemoteListing {
  database: string;
  /** Oldest first, like a local listing. */
  backups: RemoteBackup[];
  /** Keys that are not (yet) part of a backup: data without a manifest, temporary names. */
  partials: RemoteFile[];
  problems: string[];
}

/** Lists one database at a destination (an empty listing when it has nothing). */
export async function listRemote(backend: Backend, database: string): Promise<RemoteListing> {
  const files = await backend.list(databasePrefix(database));
  const byName = new Map(files.filter((f) => f.key.startsWith(`${database}/`)).map((f) => [f.key.slice(database.length + 1), f]));
  const listing: RemoteListing = { database, backups: [], partials: [], problems: [] };
  const claimed = new Set<string>();
  for (const name of [...byName.keys()].sort()) {
    if (!name.endsWith(MANIFEST_EXTENSION) || !parseBackupId(name.slice(0, -MANIFEST_EXTENSION.length))) continue;
    const key = `${database}/${name}`;
    claimed.add(name);
    try {
      const text = await backend.readText(key);
      if (text === null) continue; // removed between list and read
      const manifest = parseManifest(text, name, database);
      const data = byName.get(manifest.stored.file);
      if (!data) throw new Error(`data file ${manifest.stored.file} is missing`);
      if (data.size !== manifest.stored.size) throw new Error(`data file is ${data.size} bytes, manifest says ${manifest.stored.size}`);
      claimed.add(manifest.stored.file);
      const dataKey = `${database}/${manifest.stored.file}`;
      listing.backups.push({ manifest, manifestKey: key, dataKey, manifestPath: `${backend.describe}/${key}`, dataPath: `${backend.describe}/${dataKey}` });
    } catch (err) {
      listing.problems.push(`${backend.describe}/${key}: ${describeError(err)}`);
    }
  }
  for (const [name, f] of byName) if (!claimed.has(name) && (DATA_FILE_RE.test(name) || name.startsWith("."))) listing.partials.push(f);
  return listing;
}

/** Database names that have files at the destination. */
export async function remoteDatabases(backend: Backend): Promise<string[]> {
  const names = new Set<string>();
  for (const f of await backend.list("")) {
    const db = f.key.split("/")[0]!;
    if (DATABASE_NAME_RE.test(db)) names.add(db);
  }
  return [...names].sort();
}

/**
 * Downloads a remote backup (data, then manifest) into `folder` under their
 * own names, so verify and restore can treat it as a local backup; checks the
 * downloaded size against the manifest.
 */
export async function fetchBackup(backend: Backend, b: RemoteBackup, folder: string): Promise<StoredBackup> {
  const dataPath = join(folder, b.manifest.stored.file);
  const manifestPath = join(folder, b.manifestKey.split("/")[1]!);
  await backend.get(b.dataKey, dataPath);
  await backend.get(b.manifestKey, manifestPath);
  const size = Bun.file(dataPath).size;
  if (size !== b.manifest.stored.size) throw new Error(`downloaded ${size} bytes of ${b.dataKey}, manifest says ${b.manifest.stored.size}`);
  return { manifest: b.manifest, manifestPath, dataPath };
}
