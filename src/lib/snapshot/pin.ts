/**
 * Pinning one committed state of a live database under a read transaction,
 * and finding which bytes make it up (see pages.ts for the whole
 * argument). Used by the snapshot reader worker, which owns the connection.
 *
 * Rollback-journal modes: the read transaction holds SHARED on the file, so no
 * writer can change it until the transaction ends; the pages are the file's.
 *
 * WAL mode: a reader's state is the wal-index header (in `-shm`) that it
 * copies when it begins: mxFrame K, the salts, the checksum of frame K. The
 * page for n is the latest WAL frame <= K holding n, else the file's page.
 * SQLite does not expose which header the reader took, so we bracket it: read
 * the header (h0), BEGIN and read (the reader copies the header at some instant
 * in between), read it again twice (h1, h2). Every header write changes it for
 * good (iChange counts commits; a WAL restart changes the salts), so h0 == h1
 * == h2 proves the reader took exactly h1, and that h1's nBackfill (read
 * between) belongs to the same WAL generation. Otherwise ROLLBACK and retry.
 * That state then stays put on disk until the transaction ends:
 * - nBackfill >= K: every frame <= K is already in the file, which alone is
 *   the state. If we hold read-mark 0, checkpointers cannot write the file
 *   (they need read-lock 0 exclusively to backfill); if we hold a mark > 0,
 *   backfill stops at our mark <= K <= nBackfill, and the WAL cannot restart.
 *   We do not read the WAL, so a restart under read-mark 0 (pitfall 1) is moot.
 * - nBackfill < K: we hold a read-mark m > 0, m <= K. The WAL cannot restart
 *   (that needs every mark > 0 free), frames <= K are never rewritten (writers
 *   append; in-place rewrites only touch the open transaction's own frames),
 *   nor are their wal-index entries (writers add entries past mxFrame and
 *   clear only those, or all of them when they restart the WAL), and
 *   checkpoints copy only frames <= m <= K.
 *
 * Which bytes, with B = h1's nBackfill: the page for n is its latest frame in
 * (B, K], found in the wal-index's page-number arrays (4 bytes a frame in
 * `-shm`), else the file's page. That is exactly how SQLite's own reader finds
 * a page (walFindFrame: frames from minFrame = nBackfill + 1 up to its mxFrame,
 * in the same arrays, else the file), and B is the nBackfill a reader beginning
 * with header h1 takes (the header was h1 throughout the bracket), so a page
 * whose latest frame <= K is <= B is already in the file. No checkpoint changes
 * such a page afterwards (a checkpoint copies a page's latest frame only from
 * (nBackfill, m], and it has none there), nor a page with no frame <= K at all,
 * and the file is not truncated below K's size. So the pages read are the ones
 * SQLite reads, from the same wal-index, which SQLite's readers trust the
 * same way for the whole of their transaction; recovery rebuilds it (only
 * after a writer died mid-header-write) from these same frames.
 * What is checked, all cheap: the WAL header (magic, page size, salts = h1's,
 * its checksum); frame K's header (the wal-index's page, the salts, a commit
 * frame of nPage pages, checksum = h1's aFrameCksum, which ties the wal-index
 * header to the WAL file's content); page_count = nPage; and each frame used,
 * as its page is read, must name that page and carry the salts. Walking and
 * checksumming every frame 1..K instead, as earlier versions did, made a
 * backup's cost grow with the WAL's backlog (0.2 s to 38 s measured under
 * back-to-back backups); now it grows with 4 bytes per frame not yet
 * checkpointed, plus the distinct pages those frames hold.
 */
import type { Database } from "bun:sqlite";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { OperationError } from "../model/index.ts";
import { indexWal, type ReadAt, readShmHeader, type ShmHeader, WalChangedError } from "./wal.ts";

/** How long to keep trying for a lock a writer holds; one commit, even a slow one, is far shorter. */
const SNAPSHOT_BUSY_TIMEOUT_MS = 30_000;
/**
 * Bracketing the reader's header fails only when a commit lands inside BEGIN; at 1000 commits/s that is a few percent.
 */
const PIN_ATTEMPTS = 500;

/** The state a read transaction pinned: geometry, and the WAL frames to overlay (empty: the file alone). */
export interface Pinned {
  journalMode: string;
  pageSize: number;
  pageCount: number;
  /** Page number → byte offset of its data in the WAL; empty when the file alone holds the state. */
  walPages: Map<number, number>;
  /** Salts of the WAL the frames belong to (null: no WAL read), re-checked after the copy. */
  walSalt: [number, number] | null;
  /**
   * The WAL frames this state is made of: 1..mxFrame (the backlog since the WAL's last restart, of which only
   * the latest frame of each page not yet checkpointed is read), or 0 when the file alone held it.
   */
  walFrames: number;
  /** Size of the `-wal` file when the state was pinned (0: none, or not in WAL mode). */
  walBytes: number;
}

/**
 * Descriptors of the source's files, each opened once and closed only after
 * every SQLite connection to it in this process: closing any descriptor of a
 * file drops every POSIX lock this process holds on it, which would silently
 * end the read transaction's SHARED lock (rollback mode) or read mark (WAL
 * mode, in -shm). Measured: closing the -shm after each header read let
 * writers restart the WAL mid-copy.
 */
export class SourceFiles {
  private fds = new Map<string, number>();
  /** Bytes read through `reader`, by suffix: what reading the WAL and wal-index cost (tests bound it). */
  readonly bytesRead = new Map<string, number>();
  constructor(readonly source: string) {}
  /** `suffix` "" (the database), "-wal" or "-shm"; null when the file does not exist. */
  fd(suffix: string): number | null {
    const path = this.source + suffix;
    let fd = this.fds.get(path);
    if (fd === undefined) {
      try {
        fd = openSync(path, "r");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw err;
      }
      this.fds.set(path, fd);
    }
    return fd;
  }
  /** Reads `suffix`'s file at explicit offsets, counted in bytesRead; null when the file does not exist. */
  reader(suffix: string): ReadAt | null {
    const fd = this.fd(suffix);
    if (fd === null) return null;
    return (buf, position) => {
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, position + got);
        if (n === 0) break;
        got += n;
      }
      this.bytesRead.set(suffix, (this.bytesRead.get(suffix) ?? 0) + got);
      return got;
    };
  }
  closeAll(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

function pragmaNumber(db: Database, name: string): number {
  return Number(db.query(`PRAGMA ${name}`).values()[0]?.[0]);
}

/** BEGIN and make it real: SQLite takes its locks / read-mark at the first read. */
function beginRead(db: Database): void {
  db.run("BEGIN");
  db.query("SELECT count(*) FROM sqlite_schema").values();
}

/** Starts a read transaction on `db` (read-only, busy_timeout 0) and returns the state it pinned. */
export function pinState(db: Database, files: SourceFiles): Pinned {
  const journalMode = whenNotBusy(db, () => String(db.query("PRAGMA journal_mode").values()[0]?.[0] ?? "unknown"));
  if (journalMode === "wal") return pinWal(db, files);
  whenNotBusy(db, () => beginRead(db));
  return {
    journalMode,
    pageSize: pragmaNumber(db, "page_size"),
    pageCount: pragmaNumber(db, "page_count"),
    walPages: new Map(),
    walSalt: null,
    walFrames: 0,
    walBytes: 0,
  };
}

function pinWal(db: Database, files: SourceFiles): Pinned {
  const shmHeader = () => {
    const readShm = files.reader("-shm");
    return readShm === null ? null : readShmHeader(readShm);
  };
  for (let attempt = 0; attempt < PIN_ATTEMPTS; attempt++) {
    const h0 = shmHeader();
    whenNotBusy(db, () => beginRead(db));
    const h1 = shmHeader();
    const h2 = shmHeader();
    if (h0 && h1 && h2 && h0.raw.equals(h1.raw) && h1.raw.equals(h2.raw)) {
      const pinned = walState(db, files, h1);
      if (pinned) return pinned;
    }
    db.run("ROLLBACK");
  }
  throw new OperationError(`snapshot of ${files.source}: could not pin a WAL state in ${PIN_ATTEMPTS} attempts`, {
    hint: 'use snapshot_method = "vacuum" for this database',
  });
}

/** The pinned state for wal-index header `h`, or null when the WAL on disk does not match it (retry). */
function walState(db: Database, files: SourceFiles, h: ShmHeader): Pinned | null {
  const pageSize = pragmaNumber(db, "page_size");
  const pageCount = pragmaNumber(db, "page_count");
  if (h.nPage !== 0 && h.nPage !== pageCount) return null;
  const walFd = files.fd("-wal");
  // The size a backlog has grown to, seen under the pinned state (recorded; see docs/snapshot.md).
  const walBytes = walFd === null ? 0 : fstatSync(walFd).size;
  const base = { journalMode: "wal", pageSize, pageCount, walBytes };
  if (h.nBackfill >= h.mxFrame) return { ...base, walPages: new Map(), walSalt: null, walFrames: 0 };
  const readWal = files.reader("-wal");
  const readShm = files.reader("-shm");
  try {
    if (readWal === null || readShm === null) return null;
    const wal = indexWal(readWal, readShm, h, pageSize, pageCount);
    return { ...base, walPages: wal.pages, walSalt: wal.salt, walFrames: h.mxFrame };
  } catch (err) {
    if (err instanceof WalChangedError) return null;
    throw err;
  }
}

/**
 * Runs `fn`, retrying every millisecond while the database is locked. In
 * rollback mode a busy writer sits in EXCLUSIVE (fsyncs) most of the time, and
 * SQLite's busy handler backs off to 100 ms sleeps: measured, it took 1-20 s
 * to catch a gap between commits.
 */
function whenNotBusy<T>(db: Database, fn: () => T): T {
  const deadline = Date.now() + SNAPSHOT_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw err;
      if (db.inTransaction) db.run("ROLLBACK");
      Bun.sleepSync(1);
    }
  }
}
