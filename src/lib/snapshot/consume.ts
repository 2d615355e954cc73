/**
 * A page-level snapshot whose pages go to the caller instead of a compressed
 * file: the same pinning, check inside the same read transaction, WAL-change
 * retry and raw SHA-256 as takePageSnapshot (pages.ts), for callers that store
 * pages themselves (incremental backups put each page in a pack or reference
 * one already stored).
 */
import type { CheckLevel } from "../model/index.ts";
import { type CheckReuse, type PinnedSnapshot, pageChunks, snapshotPinned } from "./pages.ts";
import type { Pinned, SourceFiles } from "./pin.ts";
import type { ReaderChoice } from "./readers.ts";

/**
 * Pages handed over at a time: whole pages, about this many bytes (fewer at
 * the end). Big enough that per-call costs vanish, small enough to keep memory flat.
 */
export const CONSUMER_CHUNK_BYTES = 4 * 1024 * 1024;

/** What receives the pinned state's pages, in order, once per copy attempt. */
export interface PageConsumer {
  /**
   * A copy starts (again, after a discarded attempt): the geometry of the pinned state.
   * `startCheck` starts the snapshot's check if it waits (see `reuse`): call it once the
   * image can no longer be one stored already (the first page not stored yet).
   */
  begin(geometry: { pageSize: number; pageCount: number; startCheck: () => void }): Promise<void> | void;
  /**
   * Pages `firstPage` … `firstPage + pages.length / pageSize − 1` (1-based).
   * The buffer is reused once the returned promise settles: copy what must outlive the call.
   */
  pages(pages: Uint8Array, firstPage: number, pageSize: number): Promise<void> | void;
  /** The attempt is thrown away (the WAL moved under it): drop what it made; begin() follows. */
  discard(): Promise<void> | void;
  /**
   * What computes the image's raw SHA-256 for this attempt (called after begin()), for
   * a consumer that hashes on another thread; absent or null: hashed here, chunk by chunk.
   */
  hasher?(): ChunkHasher | null;
  /**
   * While every page handed over so far is, at its place, the page a stored image
   * has there (and that image has this geometry): that image's raw SHA-256; else
   * null. Asked after begin() and after each pages(); once null, never asked again.
   */
  sameImage?(): string | null;
}

/** What a chunk is given to the hasher for: the raw SHA-256, the consumer's pages (ids made on its thread), or both. */
export interface ChunkUse {
  hash: boolean;
  pages: boolean;
}

/**
 * The raw SHA-256 of the image, fed the chunks in order. Each chunk is given to
 * update() before the consumer's pages(); its buffer is reused once both settle.
 * Chunks are in SharedArrayBuffers, so another thread may read them in place.
 */
export interface ChunkHasher {
  update(chunk: Uint8Array, use?: ChunkUse): Promise<void>;
  digest(): Promise<string>;
  /** Frees what it holds; called once, whatever happened. */
  close(): void;
}

function hashHere(): ChunkHasher {
  const hash = new Bun.CryptoHasher("sha256");
  return {
    update: async (chunk, use) => {
      if (use?.hash !== false) hash.update(chunk);
    },
    digest: async () => hash.digest("hex"),
    close: () => {},
  };
}

const HASH_ONLY: ChunkUse = { hash: true, pages: false };

/** A chunk handed to the hasher, whose pages the consumer has yet to take. */
interface Ahead {
  chunk: Uint8Array;
  /** Whether it went into the raw SHA-256. */
  hashed: boolean;
  given: Promise<void>;
}

/**
 * Hands the pinned state's pages to `consumer` and `hasher`, one chunk ahead:
 * the next chunk is read and given to the hasher (on its thread) while the
 * consumer works on this one. While the image may be one stored already
 * (sameImage), chunks go to the consumer only and the raw SHA-256 waits; at
 * the first chunk that differs, the pages before it are read again and hashed.
 */
async function feed(
  files: SourceFiles,
  pin: Pinned,
  consumer: PageConsumer,
  hasher: ChunkHasher,
  onProgress?: (done: number, total: number) => void,
): Promise<{ rawSize: number; rawSha256: string }> {
  const { pageSize, pageCount } = pin;
  const { chunks, release } = pageChunks(files, pin, CONSUMER_CHUNK_BYTES, true);
  let waiting = consumer.sameImage?.() != null;
  const give = (chunk: Uint8Array): Ahead => {
    const given = hasher.update(chunk, { hash: !waiting, pages: true });
    given.catch(() => {}); // awaited in turn; a failure of pages() must not leave it unhandled
    return { chunk, hashed: !waiting, given };
  };
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  let ahead = first.done ? null : give(first.value);
  let done = 0;
  while (ahead) {
    const current = ahead;
    const next = await it.next();
    ahead = next.done ? null : give(next.value);
    await consumer.pages(current.chunk, done / pageSize + 1, pageSize);
    await current.given;
    if (waiting && consumer.sameImage!() === null) {
      waiting = false;
      await hashAgain(files, pin, done / pageSize, hasher);
      await hasher.update(current.chunk, HASH_ONLY);
      if (ahead && !ahead.hashed) {
        ahead.given = Promise.all([ahead.given, hasher.update(ahead.chunk, HASH_ONLY)]).then(() => {});
        ahead.given.catch(() => {});
        ahead.hashed = true;
      }
    }
    done += current.chunk.length;
    release(current.chunk);
    onProgress?.(done, pageCount * pageSize);
  }
  const same = waiting ? consumer.sameImage!() : null;
  return { rawSize: done, rawSha256: same ?? (await hasher.digest()) };
}

/**
 * Reads pages 1..`pages` of the pinned state again, into the raw SHA-256 alone:
 * the image turned out not to be a stored one, and its hash waited until here.
 * Two chunks in flight: one read while the other is hashed.
 */
async function hashAgain(files: SourceFiles, pin: Pinned, pages: number, hasher: ChunkHasher): Promise<void> {
  if (pages === 0) return;
  const { chunks, release } = pageChunks(files, { ...pin, pageCount: pages }, CONSUMER_CHUNK_BYTES, true);
  let previous: { chunk: Uint8Array; hashed: Promise<void> } | null = null;
  for await (const chunk of chunks) {
    const hashed = hasher.update(chunk, HASH_ONLY);
    hashed.catch(() => {}); // awaited on the next turn or below
    if (previous) {
      await previous.hashed;
      release(previous.chunk);
    }
    previous = { chunk, hashed };
  }
  if (previous) await previous.hashed;
}

export interface ConsumedSnapshotResult extends PinnedSnapshot {
  /** page_count × page_size. */
  rawSize: number;
  /** SHA-256 of the image, hex: pages 1..page_count concatenated. */
  rawSha256: string;
}

export interface ConsumedSnapshotOptions {
  check: CheckLevel;
  /** Raw bytes done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** When an image that passed its check already may stand for this one (the check then waits; pages.ts). */
  reuse?: CheckReuse;
  /** Where the reader runs; default "auto" (by the source's size, readers.ts). */
  reader?: ReaderChoice;
}

/**
 * Takes a page-level snapshot of `source` and hands its pages to `consumer`,
 * checked at `check` level inside the same read transaction. Returns the raw
 * size and SHA-256, the check's result and the image's facts; the caller
 * decides what a failed check means for what it stored.
 */
export async function consumePageSnapshot(
  source: string,
  consumer: PageConsumer,
  { check, onProgress, reuse, reader }: ConsumedSnapshotOptions,
): Promise<ConsumedSnapshotResult> {
  const { copied, ...snap } = await snapshotPinned(
    source,
    check,
    async (files, pin, startCheck) => {
      const { pageSize, pageCount } = pin;
      await consumer.begin({ pageSize, pageCount, startCheck });
      const hasher = consumer.hasher?.() ?? hashHere();
      try {
        return await feed(files, pin, consumer, hasher, onProgress);
      } finally {
        hasher.close();
      }
    },
    () => consumer.discard(),
    reuse && { ...reuse, image: (c) => c.rawSha256 },
    reader,
  );
  return { ...snap, ...copied };
}
