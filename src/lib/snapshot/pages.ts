/**
 * A page-level snapshot of a live database, streamed: pages 1..page_count of
 * one committed state, read under one read transaction, go in 2 MiB chunks to
 * SHA-256 and to the parallel compressor at once. Unlike `VACUUM INTO` nothing
 * is rebuilt or written twice, and WAL-mode writers are never blocked. The
 * image is byte for byte the database SQLite sees, so a copy of a WAL-mode
 * database keeps header bytes 18-19 = 2 and opens in WAL mode when restored.
 *
 * Two threads: a worker (reader.ts) owns the SQLite connection, pins
 * the state (pin.ts says how and why it stays put) and then checks
 * that very state inside the same read transaction, on the spare core, while
 * this thread copies it from the files. A small database (readers.ts) runs
 * the same reader in this thread instead, its check after the copy: the
 * worker's start-up would cost more than the overlap saves. The check sees exactly the pages we
 * copy, so no raw copy is written for it: on the 2-core VM measured, writing
 * 1 GiB into the page cache alone cost ~3.5 s of CPU, more than compressing.
 * Each WAL frame is read with its header, which must name the page it is
 * read for and carry the pinned WAL's salts; after the copy the WAL header's
 * salts are checked again. A mismatch (which the pinning argument rules out)
 * discards the copy and redoes it.
 *
 * No `wal_checkpoint(PASSIVE)` afterwards: that needs a read-write connection,
 * whose close may checkpoint and delete the WAL when it is the last one, and
 * sqlbak never changes the source. The app's next checkpoint does the work.
 */
import { readSync } from "node:fs";
import { CHUNK_BYTES, type CompressResult, compressChunks, MAX_IN_FLIGHT, type StoredFilter } from "../codec/index.ts";
import { type CheckLevel, type Compression, describeError, fsErrorMessage, OperationError } from "../model/index.ts";
import { removeQuietly } from "../system/index.ts";
import type { CheckResult, DatabaseFacts } from "./inspect.ts";
import { type Pinned, SourceFiles } from "./pin.ts";
import { type ReaderChoice, readerFor } from "./readers.ts";
import { assertSourceDatabase } from "./vacuum.ts";
import { checkFrameHeader, readWalSalt, WAL_FRAME_HEADER_BYTES, WalChangedError } from "./wal.ts";

/** Whole copies redone when the WAL changed under the copy (never seen; the pinning argument rules it out). */
const COPY_ATTEMPTS = 3;

export type PageSnapshotResult = CompressResult & PinnedSnapshot;

/** Reads `len` bytes at `pos` into `buf`, zero-filling past the end of the file (as SQLite reads it). */
function readFull(fd: number, buf: Uint8Array, len: number, pos: number): void {
  let got = 0;
  while (got < len) {
    const bytesRead = readSync(fd, buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  buf.fill(0, got, len);
}

/**
 * Yields the pinned state's pages in order, about CHUNK_BYTES at a time, in
 * buffers taken from a small pool: compressChunks hands each back once its
 * frame is written, so memory stays flat however big the database is.
 * `shared`: the buffers are SharedArrayBuffers, which another thread reads in place.
 */
export function pageChunks(files: SourceFiles, pin: Pinned, chunkBytes = CHUNK_BYTES, shared = false) {
  const { pageSize, pageCount, walPages } = pin;
  const perChunk = Math.max(1, Math.floor(chunkBytes / pageSize));
  const file = files.fd("")!;
  const readWal = walPages.size > 0 ? files.reader("-wal") : null;
  // A WAL page is read with its frame header, which must still name that page and the pinned WAL's salts.
  const frame = new Uint8Array(WAL_FRAME_HEADER_BYTES + pageSize);
  const pool: Uint8Array[] = [];
  const bytes = perChunk * pageSize;
  const newBuffer = () => new Uint8Array(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let first = 1; first <= pageCount; first += perChunk) {
      const n = Math.min(perChunk, pageCount - first + 1);
      const buf = (pool.pop() ?? newBuffer()).subarray(0, n * pageSize);
      readFull(file, buf, buf.length, (first - 1) * pageSize);
      for (let i = 0; readWal !== null && i < n; i++) {
        const off = walPages.get(first + i);
        if (off === undefined) continue;
        if (readWal(frame, off - WAL_FRAME_HEADER_BYTES) !== frame.length)
          throw new WalChangedError("WAL frame vanished");
        checkFrameHeader(frame, first + i, pin.walSalt!);
        buf.set(frame.subarray(WAL_FRAME_HEADER_BYTES), i * pageSize);
      }
      yield buf;
    }
  }
  const release = (buf: Uint8Array) => {
    if (pool.length <= MAX_IN_FLIGHT) pool.push(new Uint8Array(buf.buffer, buf.byteOffset, perChunk * pageSize));
  };
  return { chunks: chunks(), release };
}

export interface PageSnapshotOptions {
  codec: Compression;
  level: number;
  check: CheckLevel;
  /** Raw bytes done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Encryption: called once per copy attempt, so a retried copy gets a fresh file key. */
  makeFilter?: () => Promise<StoredFilter>;
  /** Where the reader runs; default "auto" (by the source's size, readers.ts). */
  reader?: ReaderChoice;
}

/**
 * How a snapshot may skip its check: when the image it copied is byte for
 * byte one that passed a check already, that check and its facts stand for it.
 */
export interface CheckReuse {
  /** Whether an image of this geometry could be reused from: then the check waits for `startCheck` (or the copy's end). */
  possible(geometry: { pageSize: number; pageCount: number }): boolean;
  /** The check and facts standing for this image (raw SHA-256 and geometry), or null: then the check runs. */
  find(image: { rawSha256: string; pageSize: number; pageCount: number }): Reused | null;
}

export interface Reused {
  check: CheckResult & { reused_from: string };
  facts: DatabaseFacts;
}

/**
 * One attempt: pin in the reader, run `copy` over the pinned state here while
 * the reader's worker checks it (an in-thread reader checks after the copy), then confirm the WAL did not move. With `reuse`
 * possible for the pinned geometry the check starts only when `copy` calls
 * `startCheck` (an incremental backup does at its first page not stored yet);
 * a check never started is skipped when `reuse` finds the copied image.
 */
async function copyOnce<T>(
  files: SourceFiles,
  check: CheckLevel,
  copy: (pin: Pinned, startCheck: () => void) => Promise<T>,
  reuse: (CheckReuse & { image: (copied: T) => string }) | undefined,
  choice: ReaderChoice,
) {
  const reader = readerFor(files.source, check, choice);
  try {
    const pin = await reader.pinned();
    if (!reuse?.possible(pin)) reader.startCheck();
    const copied = await copy(pin, () => reader.startCheck());
    const salt = pin.walSalt && readWalSalt(files.reader("-wal")!);
    if (pin.walSalt && (salt?.[0] !== pin.walSalt[0] || salt?.[1] !== pin.walSalt[1]))
      throw new WalChangedError("WAL restarted during the copy");
    const { pageSize, pageCount } = pin;
    const reused = reader.checking ? null : reuse?.find({ rawSha256: reuse.image(copied), pageSize, pageCount });
    if (reused) return { pin, copied, checked: reused, kind: reader.kind };
    const checked: { check: CheckResult; facts: DatabaseFacts } = await reader.checked();
    return { pin, copied, checked, kind: reader.kind };
  } finally {
    await reader.finish();
  }
}

/** What every page-level snapshot reports besides what its copy made. */
export interface PinnedSnapshot {
  method: "pages";
  journal_mode: string;
  page_size: number;
  page_count: number;
  /** Pages taken from WAL frames rather than the database file (0: the file alone held the state). */
  wal_pages: number;
  /** WAL frames the state was read from (1..the last commit; 0: the file alone). */
  wal_frames: number;
  /** Size of the `-wal` file when the state was pinned (0: none). */
  wal_bytes: number;
  check: CheckResult;
  facts: DatabaseFacts;
  /** Where the read transaction was held: in this thread (small sources) or on a worker. Not recorded. */
  reader: "inline" | "worker";
}

/**
 * Pins one committed state of `source` and runs `copy` over it (it reads the
 * pages through `files`), checked at `check` level inside the same read
 * transaction. A copy the WAL moved under (ruled out by the pinning argument)
 * is thrown away (`discard`) and redone, at most COPY_ATTEMPTS times.
 */
export async function snapshotPinned<T>(
  source: string,
  check: CheckLevel,
  copy: (files: SourceFiles, pin: Pinned, startCheck: () => void) => Promise<T>,
  discard: () => Promise<void> | void,
  reuse?: CheckReuse & { image: (copied: T) => string },
  choice: ReaderChoice = "auto",
): Promise<PinnedSnapshot & { copied: T }> {
  assertSourceDatabase(source);
  // Opened before the reader's connection, closed after it: see SourceFiles.
  const files = new SourceFiles(source);
  try {
    if (files.fd("") === null) throw new OperationError(`snapshot of ${source}: the database file vanished`);
    for (let attempt = 1; ; attempt++) {
      try {
        const copyPinned = (p: Pinned, start: () => void) => copy(files, p, start);
        const { pin, copied, checked, kind } = await copyOnce(files, check, copyPinned, reuse, choice);
        return {
          copied,
          method: "pages",
          journal_mode: pin.journalMode,
          page_size: pin.pageSize,
          page_count: pin.pageCount,
          wal_pages: pin.walPages.size,
          wal_frames: pin.walFrames,
          wal_bytes: pin.walBytes,
          check: checked.check,
          facts: checked.facts,
          reader: kind,
        };
      } catch (err) {
        if (!(err instanceof WalChangedError) || attempt >= COPY_ATTEMPTS) throw err;
        await discard();
      }
    }
  } catch (err) {
    throw snapshotError(source, err);
  } finally {
    files.closeAll();
  }
}

/**
 * Takes a page-level snapshot of `source` into `storedPath` (compressed; must
 * not exist), checked at `check` level inside the same read transaction.
 * Returns sizes and hashes, the check's result and the image's facts.
 */
export async function takePageSnapshot(
  source: string,
  storedPath: string,
  { codec, level, check, onProgress, makeFilter, reader }: PageSnapshotOptions,
): Promise<PageSnapshotResult> {
  const { copied, ...snap } = await snapshotPinned(
    source,
    check,
    async (files, pin) => {
      const total = pin.pageCount * pin.pageSize;
      const { chunks, release } = pageChunks(files, pin);
      const filter = await makeFilter?.();
      return compressChunks(chunks, storedPath, codec, level, {
        onProgress: (d) => onProgress?.(d, total),
        release,
        filter,
      });
    },
    () => removeQuietly(storedPath),
    undefined,
    reader,
  );
  return { ...copied, ...snap };
}

function snapshotError(source: string, err: unknown): unknown {
  if (err instanceof OperationError) return err;
  const code = (err as { code?: string }).code;
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
    return new OperationError(`not a SQLite database, or damaged: ${source} (${describeError(err)})`);
  }
  if (code === "SQLITE_BUSY")
    return new OperationError(`snapshot of ${source}: database stayed locked (${describeError(err)})`);
  // file-system errors are described by the caller with their path
  if ((err as NodeJS.ErrnoException)?.syscall) return err;
  if (code?.startsWith("E")) return new OperationError(fsErrorMessage(err, "read database", source));
  return new OperationError(`snapshot of ${source} failed: ${describeError(err)}`, { cause: err });
}
