/**
 * A page-level snapshot whose pages go to the caller instead of a compressed
 * file: the same pinning, check inside the same read transaction, WAL-change
 * retry and raw SHA-256 as takePageSnapshot (pages.ts), for callers that store
 * pages themselves (incremental backups put each page in a pack or reference
 * one already stored).
 */
import type { CheckLevel } from "../model/index.ts";
import { type CheckReuse, type PinnedSnapshot, pageChunks, snapshotPinned } from "./pages.ts";

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
   * a consumer that hashes on another thread; absent: hashed here, chunk by chunk.
   */
  hasher?(): ChunkHasher;
}

/**
 * The raw SHA-256 of the image, fed the chunks in order. Each chunk is given to
 * update() before the consumer's pages(); its buffer is reused once both settle.
 * Chunks are in SharedArrayBuffers, so another thread may read them in place.
 */
export interface ChunkHasher {
  update(chunk: Uint8Array): Promise<void>;
  digest(): Promise<string>;
  /** Frees what it holds; called once, whatever happened. */
  close(): void;
}

function hashHere(): ChunkHasher {
  const hash = new Bun.CryptoHasher("sha256");
  return {
    update: async (chunk) => {
      hash.update(chunk);
    },
    digest: async () => hash.digest("hex"),
    close: () => {},
  };
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
  { check, onProgress, reuse }: ConsumedSnapshotOptions,
): Promise<ConsumedSnapshotResult> {
  const { copied, ...snap } = await snapshotPinned(
    source,
    check,
    async (files, pin, startCheck) => {
      const { pageSize, pageCount } = pin;
      await consumer.begin({ pageSize, pageCount, startCheck });
      const { chunks, release } = pageChunks(files, pin, CONSUMER_CHUNK_BYTES, true);
      const hasher = consumer.hasher?.() ?? hashHere();
      try {
        let done = 0;
        for await (const chunk of chunks) {
          const hashed = hasher.update(chunk);
          hashed.catch(() => {}); // awaited below; a failure of pages() must not leave it unhandled
          await consumer.pages(chunk, done / pageSize + 1, pageSize);
          await hashed;
          done += chunk.length;
          release(chunk);
          onProgress?.(done, pageCount * pageSize);
        }
        return { rawSize: done, rawSha256: await hasher.digest() };
      } finally {
        hasher.close();
      }
    },
    () => consumer.discard(),
    reuse && { ...reuse, image: (c) => c.rawSha256 },
  );
  return { ...snap, ...copied };
}
