/**
 * Is a live database in use, and can we keep everyone out while we replace it?
 * Two complementary signals:
 * - SQLite's own locks: an exclusive lock fails while any connection has a
 *   transaction open, and in WAL mode while any connection has read the file
 *   at all (WAL connections keep a shared lock for as long as they are open).
 * - On Linux, /proc/<pid>/fd: any process that has the file open, even an
 *   idle rollback-mode connection that holds no lock (only processes we may
 *   inspect: all of them as root, our own user's otherwise).
 */
import { constants, Database } from "bun:sqlite";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { describeError } from "../model/index.ts";

export interface Opener {
  pid: number;
  command: string;
}

/** Processes other than this one that have `path` (or its -wal/-shm/-journal) open; empty where /proc is missing. */
export function findOpeners(path: string): Opener[] {
  const wanted = new Set([path, `${path}-wal`, `${path}-shm`, `${path}-journal`]);
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return [];
  }
  const found: Opener[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to inspect
    }
    const hit = fds.some((fd) => {
      try {
        return wanted.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false;
      }
    });
    if (hit) found.push({ pid: Number(pid), command: readComm(pid) });
  }
  return found;
}

function readComm(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/** A connection holding an exclusive lock on the live database until release(). */
export interface ExclusiveHold {
  release(): void;
}

/**
 * Tries to take and keep an exclusive lock on the database at `path` without
 * waiting. On success any WAL is checkpointed into the main file, so the main
 * file alone holds the whole current state, and release() never deletes a
 * sidecar file by name: a WAL database keeps its WAL file (SQLite's
 * persistent-WAL file control; the file stays in WAL mode, byte for byte, if
 * the restore dies here), a rollback one uses PERSIST journals (a connection
 * setting, not written to the file).
 * Returns null when another connection is in the way.
 */
export function holdExclusive(path: string): ExclusiveHold | null {
  const db = new Database(path, { readwrite: true, create: false });
  try {
    db.run("PRAGMA busy_timeout = 0");
    // Exclusive locking mode keeps the lock after each transaction, until close.
    db.run("PRAGMA locking_mode = EXCLUSIVE");
    db.run("BEGIN EXCLUSIVE");
    db.run("COMMIT");
    const mode = String(db.query("PRAGMA journal_mode").values()[0]?.[0]);
    if (mode === "wal") {
      const busy = db.query("PRAGMA wal_checkpoint(TRUNCATE)").values()[0]?.[0];
      if (busy !== 0) throw Object.assign(new Error("checkpoint blocked"), { code: "SQLITE_BUSY" });
    }
    // Closing this connection later must not delete a -wal or -journal by
    // name, which by then may belong to the restored database's new users.
    if (mode === "wal") db.fileControl(constants.SQLITE_FCNTL_PERSIST_WAL, 1);
    else db.run("PRAGMA journal_mode = PERSIST");
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === "SQLITE_BUSY") return null;
    throw new Error(`cannot lock ${path}: ${describeError(err)}`, { cause: err });
  }
  return { release: () => db.close() };
}

/** One line naming who uses the database, for the refusal message. */
export function describeOpeners(openers: Opener[]): string {
  if (openers.length === 0) return "another connection holds a lock on it";
  return (
    openers
      .slice(0, 3)
      .map((o) => `pid ${o.pid} ${o.command}`)
      .join(", ") + (openers.length > 3 ? ", ..." : "")
  );
}
