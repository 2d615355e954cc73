/**
 * A page-level snapshot of a live database, streamed: pages 1..page_count of
 * one committed state, read under one read transaction, go in 4 MiB chunks to
 * a raw image (for quick_check), to SHA-256 and to the parallel compressor at
 * once. Unlike `VACUUM INTO` nothing is rebuilt, and WAL-mode writers are
 * never blocked. The image is byte for byte the database SQLite sees, so a
 * copy of a WAL-mode database keeps header bytes 18-19 = 2 and opens in WAL
 * mode when restored, as the source does.
 *
 * Which bytes make up the state the read transaction sees:
 *
 * Rollback-journal modes: the read transaction holds SHARED on the file, so no
 * writer can change it until COMMIT; the pages are the file's.
 *
 * WAL mode: a reader's state is the wal-index header (in `-shm`) that it
 * copies when it begins — mxFrame K, the salts, the checksum of frame K — and
 * the page for n is the latest WAL frame <= K holding n, else the file's page.
 * SQLite does not expose which header the reader took, so we bracket it: read
 * the header (h0), BEGIN and read (the reader copies the header at some instant
 * in between), read it again twice (h1, h2). Every header write changes it for
 * good (iChange counts commits; a WAL restart changes the salts), so h0 == h1
 * == h2 proves the reader took exactly h1, and that h1's nBackfill (read
 * between) belongs to the same WAL generation. Otherwise ROLLBACK and retry.
 * That state then stays put on disk until COMMIT:
 * - nBackfill >= K: every frame <= K is already in the file, which alone is
 *   the state. If we hold read-mark 0, checkpointers cannot write the file
 *   (they need read-lock 0 exclusively to backfill); if we hold a mark > 0,
 *   backfill stops at our mark <= K <= nBackfill, and the WAL cannot restart.
 *   We do not read the WAL, so a restart under read-mark 0 (pitfall 1) is moot.
 * - nBackfill < K: we hold a read-mark m > 0, m <= K. The WAL cannot restart
 *   (that needs every mark > 0 free), frames <= K are never rewritten (writers
 *   append; in-place rewrites only touch the open transaction's own frames),
 *   and checkpoints copy only frames <= m <= K, so a file page we use (one with
 *   no frame <= K) never changes, and the file is not truncated below K's size.
 *   Frames 1..K are checked against the header (salts, the checksum chain and
 *   its value at K, K a commit frame), and page_count must equal its nPage.
 * After the copy the WAL's salts are checked again; a mismatch (which the
 * argument above rules out) discards the copy and redoes it.
 *
 * No `wal_checkpoint(PASSIVE)` afterwards: that needs a read-write connection,
 * whose close may checkpoint and delete the WAL when it is the last one, and
 * sqlbak never changes the source. The app's next checkpoint does the work.
 */
import { Database } from "bun:sqlite";
import { closeSync, openSync, readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { CHUNK_BYTES, type CompressResult, compressChunks, type StoredFilter, writeAt } from "./compress.ts";
import type { Compression } from "./config-schema.ts";
import { describeError, OperationError } from "./errors.ts";
import { removeQuietly } from "./fs.ts";
import { assertSourceDatabase } from "./snapshot.ts";
import { indexWal, readShmHeader, readWalSalt, type ShmHeader, WalChangedError, type WalIndex } from "./wal.ts";

/** How long to keep trying for a lock a writer holds; one commit, even a slow one, is far shorter. */
const SNAPSHOT_BUSY_TIMEOUT_MS = 30_000;
/** Bracketing the reader's header fails only when a commit lands inside BEGIN; at 1000 commits/s that is a few percent. */
const PIN_ATTEMPTS = 500;
/** Whole copies redone when the WAL changed under the copy (never seen; the argument above rules it out). */
const COPY_ATTEMPTS = 3;

export interface PageSnapshotResult extends CompressResult {
  method: "pages";
  journal_mode: string;
  page_size: number;
  page_count: number;
  /** Pages taken from WAL frames rather than the database file (0: the file alone held the state). */
  wal_pages: number;
}

/** The state a read transaction pinned: geometry, and the WAL frames to overlay (null: the file alone). */
interface Pinned {
  pageSize: number;
  pageCount: number;
  wal: WalIndex | null;
}

function pragmaNumber(db: Database, name: string): number {
  return Number(db.query(`PRAGMA ${name}`).values()[0]?.[0]);
}

/**
 * Descriptors of the source's files, each opened once and closed only after
 * the SQLite connection: closing any descriptor of a file drops every POSIX
 * lock this process holds on it, which would silently end the read
 * transaction's SHARED lock (rollback mode) or read mark (WAL mode, in -shm).
 * Measured: closing the -shm after each header read let writers restart the
 * WAL mid-copy.
 */
class SourceFiles {
  private fds = new Map<string, number>();
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
  closeAll(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** BEGIN and make it real: SQLite takes its locks / read-mark at the first read. */
function beginRead(db: Database): void {
  db.run("BEGIN");
  db.query("SELECT count(*) FROM sqlite_schema").values();
}

/** Starts the read transaction in WAL mode and finds its frames (see the module comment). */
function pinWal(db: Database, files: SourceFiles): Pinned {
  const source = files.source;
  const shmHeader = () => {
    const fd = files.fd("-shm");
    return fd === null ? null : readShmHeader(fd);
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
  throw new OperationError(`snapshot of ${source}: could not pin a WAL state in ${PIN_ATTEMPTS} attempts`, {
    hint: "use snapshot_method = \"vacuum\" for this database",
  });
}

/** The pinned state for wal-index header `h`, or null when the WAL on disk does not match it (retry). */
function walState(db: Database, files: SourceFiles, h: ShmHeader): Pinned | null {
  const pageSize = pragmaNumber(db, "page_size");
  const pageCount = pragmaNumber(db, "page_count");
  if (h.nPage !== 0 && h.nPage !== pageCount) return null;
  if (h.nBackfill >= h.mxFrame) return { pageSize, pageCount, wal: null };
  try {
    const walFd = files.fd("-wal");
    if (walFd === null) return null;
    return { pageSize, pageCount, wal: indexWal(walFd, h.mxFrame, pageSize, h) };
  } catch (err) {
    if (err instanceof WalChangedError) return null;
    throw err;
  }
}

/** Reads `len` bytes at `pos` into `buf`, zero-filling past the end of the file (as SQLite reads it). */
function readFull(fd: number, buf: Buffer, len: number, pos: number): void {
  let got = 0;
  while (got < len) {
    const bytesRead = readSync(fd, buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  buf.fill(0, got, len);
}

/**
 * Yields the pinned state's pages in order, CHUNK_BYTES at a time, each chunk a
 * fresh buffer, after writing it to `raw` at its own offset.
 */
async function* pageChunks(files: SourceFiles, pin: Pinned, raw: FileHandle): AsyncGenerator<Uint8Array> {
  const { pageSize, pageCount, wal } = pin;
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / pageSize));
  const file = files.fd("")!;
  const walFd = wal ? files.fd("-wal") : null;
  for (let first = 1; first <= pageCount; first += perChunk) {
    const n = Math.min(perChunk, pageCount - first + 1);
    const buf = Buffer.allocUnsafe(n * pageSize);
    const pos = (first - 1) * pageSize;
    readFull(file, buf, buf.length, pos);
    for (let i = 0; wal && i < n; i++) {
      const off = wal.pages.get(first + i);
      if (off === undefined) continue;
      if (readSync(walFd!, buf, i * pageSize, pageSize, off) !== pageSize) throw new WalChangedError("WAL frame vanished");
    }
    await writeAt(raw, buf, pos);
    yield buf;
  }
}

/** One copy of the pinned state into fresh `rawPath` and `storedPath`. */
async function copyPinned(
  files: SourceFiles,
  pin: Pinned,
  rawPath: string,
  storedPath: string,
  codec: Compression,
  level: number,
  onProgress?: (done: number, total: number) => void,
  makeFilter?: () => Promise<StoredFilter>,
): Promise<CompressResult> {
  const total = pin.pageCount * pin.pageSize;
  const raw = await open(rawPath, "wx", 0o600);
  try {
    const filter = await makeFilter?.();
    const sums = await compressChunks(pageChunks(files, pin, raw), storedPath, codec, level, (d) => onProgress?.(d, total), filter);
    const salt = pin.wal && readWalSalt(files.fd("-wal")!);
    if (pin.wal && (salt?.[0] !== pin.wal.salt[0] || salt?.[1] !== pin.wal.salt[1])) throw new WalChangedError("WAL restarted during the copy");
    await raw.sync();
    return sums;
  } finally {
    await raw.close();
  }
}

/**
 * Takes a page-level snapshot of `source`: the raw image goes to `rawPath`, the
 * compressed one to `storedPath` (neither may exist), with sizes and hashes of
 * both. `onProgress` gets raw bytes done and the total. `makeFilter` (encryption)
 * is called once per copy attempt, so a retried copy gets a fresh file key.
 */
export async function takePageSnapshot(
  source: string,
  rawPath: string,
  storedPath: string,
  codec: Compression,
  level: number,
  onProgress?: (done: number, total: number) => void,
  makeFilter?: () => Promise<StoredFilter>,
): Promise<PageSnapshotResult> {
  assertSourceDatabase(source);
  let db: Database | undefined;
  // Opened before the connection so no SQLite lock exists yet that a close could drop.
  const files = new SourceFiles(source);
  try {
    if (files.fd("") === null) throw new OperationError(`snapshot of ${source}: the database file vanished`);
    // Read-only: closing it never checkpoints or deletes the source's WAL.
    const conn = new Database(source, { readonly: true });
    db = conn;
    db.run("PRAGMA busy_timeout = 0"); // whenNotBusy polls instead
    const journalMode = whenNotBusy(db, () => String(conn.query("PRAGMA journal_mode").values()[0]?.[0] ?? "unknown"));
    for (let attempt = 1; ; attempt++) {
      const pin = journalMode === "wal" ? pinWal(db, files) : pinRollback(db);
      try {
        const sums = await copyPinned(files, pin, rawPath, storedPath, codec, level, onProgress, makeFilter);
        const walPages = pin.wal?.pages.size ?? 0;
        return { ...sums, method: "pages", journal_mode: journalMode, page_size: pin.pageSize, page_count: pin.pageCount, wal_pages: walPages };
      } catch (err) {
        if (!(err instanceof WalChangedError) || attempt >= COPY_ATTEMPTS) throw err;
        removeQuietly(rawPath);
        removeQuietly(storedPath);
      } finally {
        db.run("ROLLBACK");
      }
    }
  } catch (err) {
    throw snapshotError(source, err);
  } finally {
    db?.close();
    files.closeAll();
  }
}

/** Rollback-journal modes: the SHARED lock of the read transaction keeps the file as it is. */
function pinRollback(db: Database): Pinned {
  whenNotBusy(db, () => beginRead(db));
  return { pageSize: pragmaNumber(db, "page_size"), pageCount: pragmaNumber(db, "page_count"), wal: null };
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

function snapshotError(source: string, err: unknown): unknown {
  if (err instanceof OperationError) return err;
  const code = (err as { code?: string }).code;
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
    return new OperationError(`not a SQLite database, or damaged: ${source} (${describeError(err)})`);
  }
  if (code === "SQLITE_BUSY") return new OperationError(`snapshot of ${source}: database stayed locked (${describeError(err)})`);
  if ((err as NodeJS.ErrnoException)?.syscall) return err; // file-system errors are described by the caller with their path
  return new OperationError(`snapshot of ${source} failed: ${describeError(err)}`, { cause: err });
}
