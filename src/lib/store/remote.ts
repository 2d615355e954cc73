/**
 * What a destination holds, read the way local.ts reads backup_dir: a backup
 * exists remotely only when its manifest parses (re-validated like a local
 * one) and its data file is listed with the size the manifest promises; the
 * rule is the one every folder shares (listing.ts), so a manifest that
 * cannot be read is a problem whose data is kept, and only data without any
 * manifest (an interrupted upload) or a temporary name is a partial.
 * Remote backups are shown as StoredBackups whose paths are descriptive URLs,
 * and fetched into a local folder before anything reads their bytes.
 */
import { join } from "node:path";
import { DATABASE_NAME_RE, MAX_MANIFEST_BYTES } from "../model/index.ts";
import type { Backend, RemoteFile } from "./backend.ts";
import { databasePrefix } from "./keys.ts";
import { classifyFolder, type ListingProblem, type ManifestText, manifestNames } from "./listing.ts";
import type { StoredBackup } from "./local.ts";

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
  /** Backups whose manifest exists but was skipped; their data is never a partial. */
  problems: ListingProblem[];
}

/** Lists one database at a destination (an empty listing when it has nothing); the rule is listing.ts. */
export async function listRemote(backend: Backend, database: string): Promise<RemoteListing> {
  const files = await backend.list(databasePrefix(database));
  const entries = files
    .filter((f) => f.key.startsWith(`${database}/`))
    .map((f) => ({ ...f, name: f.key.slice(database.length + 1) }));
  const texts = new Map<string, ManifestText>();
  const sizes = new Map(entries.map((e) => [e.name, e.size]));
  for (const name of manifestNames(entries.map((e) => e.name))) {
    // The listing already gives the size: a huge planted file is refused before any backend reads it whole.
    if ((sizes.get(name) ?? 0) > MAX_MANIFEST_BYTES) {
      texts.set(name, new Error("manifest is too large"));
      continue;
    }
    texts.set(
      name,
      await backend
        .readText(`${database}/${name}`)
        .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
    );
  }
  const c = classifyFolder(entries, texts, {
    database,
    pathOf: (n) => `${backend.describe}/${database}/${n}`,
    checkSize: true,
  });
  return {
    database,
    backups: c.backups.map((b) => {
      const manifestKey = `${database}/${b.manifestName}`;
      return {
        manifest: b.manifest,
        manifestKey,
        dataKey: b.data.key,
        manifestPath: `${backend.describe}/${manifestKey}`,
        dataPath: `${backend.describe}/${b.data.key}`,
      };
    }),
    partials: c.partials.map(({ key, size }) => ({ key, size })),
    problems: c.problems,
  };
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
  if (size !== b.manifest.stored.size)
    throw new Error(`downloaded ${size} bytes of ${b.dataKey}, manifest says ${b.manifest.stored.size}`);
  return { manifest: b.manifest, manifestPath, dataPath };
}
