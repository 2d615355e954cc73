/**
 * `pin`, `unpin`, `tag`, `untag`: changing the tags of an existing backup in
 * backup_dir by its marker (marks.ts), under the database's lock (so a
 * rotation never plans with half a change). The marker is written atomically
 * (temp, fsync, rename, fsync folder); when the wanted tags are the
 * manifest's own, the marker is removed.
 */
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { parseBackupId, UsageError } from "../model/index.ts";
import { acquireLock, fsyncDir, type LockOwner, writeFileAtomic } from "../system/index.ts";
import type { ListedBackup } from "./list.ts";
import { listFolder } from "./local.ts";
import { databaseFolder } from "./local-folder.ts";
import { markFor, serializeTagMark, TAG_RE, tagsMarkName } from "./marks.ts";

export interface TagChangeResult {
  id: string;
  database: string;
  /** The backup's tags after the change. */
  tags: string[];
  /** False when the backup already had (or lacked) the tag: nothing was written. */
  changed: boolean;
}

/** The database of a backup id, or a usage error naming the argument. */
export function databaseOfId(id: string): string {
  const parsed = parseBackupId(id);
  if (!parsed) throw new UsageError(`"${id}" is not a backup id`, "see `sqlbak list` for the backups there are");
  return parsed.database;
}

/** The backup `id` in a listing (data present or gone), or a usage error. */
export function findListed(backups: ListedBackup[], id: string): ListedBackup {
  const b = backups.find((x) => x.manifest.id === id);
  if (!b) throw new UsageError(`no backup with id ${id}`, "see `sqlbak list` for the backups there are");
  return b;
}

export function checkTag(tag: string): void {
  if (!TAG_RE.test(tag))
    throw new UsageError(`invalid tag "${tag}"`, "tags use letters, digits, . _ : and -, at most 64 characters");
}

/** Adds (`add`) or removes one tag of backup `id` in backup_dir. */
export async function changeBackupTag(
  backupDir: string,
  id: string,
  tag: string,
  add: boolean,
  opts: { lockTimeoutMs: number; command: string; onLockWait?: (owner: LockOwner | null) => void },
): Promise<TagChangeResult> {
  checkTag(tag);
  const database = databaseOfId(id);
  const folder = databaseFolder(backupDir, database);
  const listing0 = await listFolder(backupDir, database);
  findListed([...listing0.backups, ...listing0.missingData], id);
  const lock = await acquireLock(folder, { database, command: opts.command }, opts.lockTimeoutMs, opts.onLockWait);
  try {
    const listing = await listFolder(backupDir, database);
    const b = findListed([...listing.backups, ...listing.missingData], id);
    const has = b.manifest.tags.includes(tag);
    if (has === add) return { id, database, tags: b.manifest.tags, changed: false };
    const tags = add ? [...b.manifest.tags, tag] : b.manifest.tags.filter((t) => t !== tag);
    const mark = markFor(b.manifestTags, tags);
    const path = join(folder, tagsMarkName(id));
    if (mark) writeFileAtomic(path, serializeTagMark(mark));
    else {
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      fsyncDir(folder);
    }
    return { id, database, tags, changed: true };
  } finally {
    lock.release();
  }
}
