/**
 * A large image's SHA-256, taken beside the SQLite check instead of before
 * it: a worker (hash-worker.ts) reads the decompressed or reassembled image
 * back from the page cache and hashes it while the main thread runs
 * quick_check / integrity_check on the same file. On two cores the two then
 * take about as long as the slower of them (the check). Nothing is dropped:
 * the hash is still compared with the manifest's, and the check runs in full.
 * Restore, which has no SQLite check to overlap by default, hands each
 * decompressed frame to the worker once it is written (follow()): the hash
 * then runs beside the decompression instead of after each frame on the
 * main thread, without reading the bytes back.
 * Measured in docs/performance.md.
 */
import { OperationError } from "../model/index.ts";
import type { HashMessage, HashRequest } from "./hash-worker.ts";

/**
 * The worker's entry. Run from source, this module's URL is its own file; in
 * the compiled binary every module carries the binary's URL and the worker is
 * stored under lib/verify/ (package.json's build lists it as an entry point).
 */
const HASH_WORKER_URL = import.meta.url.endsWith("/verify/hash-beside.ts")
  ? new URL("./hash-worker.ts", import.meta.url).href
  : new URL("./lib/verify/hash-worker.ts", import.meta.url).href;

/**
 * Images at least this large are hashed on a worker; smaller ones while they
 * are decompressed (a worker's start, ≈ 20–30 ms, pays off only where the hash
 * takes longer: SHA-256 runs at ≈ 1.1 GB/s a core here).
 */
export const HASH_BESIDE_MIN_BYTES = 64 * 1024 * 1024;

/** Frames (2 MiB each) a followed file's hashing may lag behind its writes: bounds the memory they hold. */
const FRAMES_AHEAD = 6;

export interface FileSums {
  size: number;
  sha256: string;
}

/** One worker hashing whole files, one after another, in the order asked. */
export class FileHasher {
  private readonly worker = new Worker(HASH_WORKER_URL);
  private readonly waiting: { resolve: (s: FileSums) => void; reject: (e: Error) => void }[] = [];
  /** Frames handed over and not hashed yet (follow). */
  private framesAhead = 0;
  private drained: (() => void) | null = null;
  /** Set when the worker died: nothing more will be answered. */
  private failed: OperationError | null = null;

  constructor() {
    this.worker.onmessage = (e: MessageEvent<HashMessage>) => {
      if (e.data.type === "hashed") {
        this.framesAhead--;
        this.drained?.();
        this.drained = null;
        return;
      }
      const w = this.waiting.shift();
      if (e.data.type === "digest") w?.resolve({ size: e.data.size, sha256: e.data.sha256 });
      else w?.reject(new OperationError(`cannot read ${e.data.message}`));
    };
    this.worker.onerror = (e) => {
      this.failed = new OperationError(`file hash worker failed: ${e.message}`);
      for (const w of this.waiting.splice(0)) w.reject(this.failed);
      this.drained?.();
    };
  }

  /** Size and SHA-256 of `path`; the promise never goes unhandled (it is awaited later, after other work). */
  hash(path: string): Promise<FileSums> {
    const p = new Promise<FileSums>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage({ path } satisfies HashRequest);
    });
    p.catch(() => {});
    return p;
  }

  /**
   * Follows `path` while it is written: `frame(data, n)` after each write of `data`, n the bytes written so
   * far (in order, from the start), hands `data` over to the worker (it is unusable here afterwards) and waits
   * while the worker is more than FRAMES_AHEAD frames behind; `finish(n)` after the last gives the size and
   * SHA-256 of those n bytes (any not handed over are read back from the file; a file shorter than said fails).
   */
  follow(path: string): {
    frame: (data: Uint8Array, bytes: number) => Promise<void>;
    finish: (bytes: number) => Promise<FileSums>;
  } {
    this.worker.postMessage({ follow: path } satisfies HashRequest);
    return {
      frame: async (data, upTo) => {
        // A view of a larger buffer is copied: handing that buffer over would take the rest with it.
        const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
        this.framesAhead++;
        this.worker.postMessage({ frame: own, upTo } satisfies HashRequest, [own.buffer as ArrayBuffer]);
        while (this.framesAhead > FRAMES_AHEAD && !this.failed) await new Promise<void>((r) => (this.drained = r));
        if (this.failed) throw this.failed;
      },
      finish: (upTo) => {
        const p = new Promise<FileSums>((resolve, reject) => {
          if (this.failed) return reject(this.failed);
          this.waiting.push({ resolve, reject });
          this.worker.postMessage({ upTo, last: true } satisfies HashRequest);
        });
        p.catch(() => {});
        return p;
      },
    };
  }

  close(): void {
    this.worker.terminate();
  }
}

/**
 * Runs `check` (synchronous: SQLite's checks of `path`) while `hasher` hashes
 * `path`; returns the image's size and SHA-256 and what the check found. The
 * caller compares the sums with the manifest.
 */
export async function checkWhileHashing(
  path: string,
  hasher: FileHasher,
  check: () => string[],
): Promise<{ sums: FileSums; problems: string[] }> {
  const hashed = hasher.hash(path);
  const problems = check();
  return { sums: await hashed, problems };
}
