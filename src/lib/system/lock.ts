/**
 * Per-database run lock. It is an exclusive SQLite lock (POSIX fcntl underneath)
 * on `<folder>/.sqlbak-lock`, so the kernel releases it when its holder exits
 * for any reason, kill -9 included: there are no stale locks to clean up.
 * Beside it, `.sqlbak-lock.json` names the holder for the "locked" message.
 * Taking it writes nothing, so it works on a full disk (where `rotate` is the
 * way to free space): the journal is kept in memory and the transaction is
 * always rolled back, so the page SQLite would write to start an empty lock
 * file never leaves the cache.
 */
import { Database } from "bun:sqlite";
import { accessSync, closeSync, constants, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describeError, formatSpanSetting, fsErrorMessage, LockedError, OperationError } from "../model/index.ts";
import { ensureDir } from "./fs.ts";
import { openAsync, writeFileAtomicAsync } from "./fs-async.ts";
import { hostName } from "./host.ts";

export const LOCK_FILE = ".sqlbak-lock";
const LOCK_INFO_FILE = ".sqlbak-lock.json";
/** The lock file's mode before the umask: SQLite's default for the files it creates. */
const LOCK_FILE_MODE = 0o644;
/** How often a waiting run retries; short enough to feel immediate, long enough not to spin. */
const LOCK_RETRY_MS = 100;

export interface LockOwner {
  pid: number;
  command: string;
  since: string;
  host: string;
}

export interface HeldLock {
  release(): void;
}

/** True when taken, false when another run holds it; a lock that cannot be taken at all is an OperationError. */
function tryLock(db: Database, dir: string): boolean {
  try {
    // No journal file to create or write: a full disk must not stop the lock.
    // Set on each try: while another run holds the lock, this too is SQLITE_BUSY.
    db.run("PRAGMA journal_mode = MEMORY");
    db.run("BEGIN EXCLUSIVE");
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "SQLITE_BUSY") return false;
    db.close();
    const why = code?.startsWith("SQLITE_READONLY")
      ? "permission denied (the folder is not writable)"
      : describeError(err);
    throw new OperationError(`cannot take the lock in ${dir}: ${why}`);
  }
}

function readOwner(dir: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(join(dir, LOCK_INFO_FILE), "utf8")) as LockOwner;
  } catch {
    return null;
  }
}

/**
 * Takes the lock of the backup folder `dir`, waiting up to `timeoutMs` for a
 * current holder. Resolves to a handle whose release() must be called (in a
 * finally); throws LockedError (exit 4) when the wait runs out.
 */
export async function acquireLock(
  dir: string,
  what: { database: string; command: string },
  timeoutMs: number,
  onWait?: (owner: LockOwner | null) => void,
): Promise<HeldLock> {
  let db: Database;
  try {
    ensureDir(dir);
    const path = join(dir, LOCK_FILE);
    // Made on the thread pool when missing (a create waits for the journal behind other lanes' fsyncs),
    // with SQLite's own default mode; SQLite then opens an empty file as a new database.
    if (!existsSync(path)) closeSync(await openAsync(path, "a", LOCK_FILE_MODE));
    db = new Database(path, { create: true, readwrite: true });
  } catch (err) {
    throw new OperationError(fsErrorMessage(err, "create lock in", dir));
  }
  // Taking the lock writes nothing, so it would succeed in a folder that cannot be written;
  // a run under it needs the folder writable: say so here, before anything is attempted.
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    db.close();
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "EACCES"
        ? "permission denied (the folder is not writable)"
        : code === "EROFS"
          ? "read-only file system"
          : describeError(err);
    throw new OperationError(`cannot take the lock in ${dir}: ${why}`);
  }
  db.run("PRAGMA busy_timeout = 0");
  const deadline = Date.now() + timeoutMs;
  let warned = false;
  while (!tryLock(db, dir)) {
    if (!warned) onWait?.(readOwner(dir));
    warned = true;
    if (Date.now() >= deadline) {
      db.close();
      const owner = readOwner(dir);
      const by = owner ? ` by ${owner.command} (pid ${owner.pid} on ${owner.host}, since ${owner.since})` : "";
      throw new LockedError(
        `database "${what.database}" is locked${by}; gave up after ${formatSpanSetting(timeoutMs)}`,
        "another sqlbak run is working on it; " +
          "the lock frees itself when that process ends (raise lock_timeout to wait longer)",
      );
    }
    await Bun.sleep(LOCK_RETRY_MS);
  }
  const owner: LockOwner = {
    pid: process.pid,
    command: what.command,
    since: new Date().toISOString(),
    host: hostName(),
  };
  try {
    // Not fsynced: it only names a live holder, and after a crash there is none (docs/performance.md).
    await writeFileAtomicAsync(join(dir, LOCK_INFO_FILE), JSON.stringify(owner), undefined, false);
  } catch {
    // the info file only improves the "locked" message; the lock itself is held
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        db.run("ROLLBACK");
      } finally {
        db.close();
      }
    },
  };
}
