/**
 * The raw SHA-256 of a pages backup's snapshot, and the ids of the last pages
 * of each chunk, made on a worker thread (id-worker.ts) while the main thread
 * makes the other ids. How many pages the worker takes adapts to which side
 * waits: its share goes down while the main thread, done with a chunk, waits
 * for the worker's hash of it, and up while it does not. Ids are the same
 * whichever thread makes them (pageId).
 */
import type { ChunkHasher, ChunkUse } from "../snapshot/index.ts";
import type { IdMessage } from "./id-worker.ts";

/** The worker's entry: beside this file from source, under lib/backup/ in the compiled binary. */
const ID_WORKER_URL = import.meta.url.endsWith("/backup/id-hasher.ts")
  ? new URL("./id-worker.ts", import.meta.url).href
  : new URL("./lib/backup/id-worker.ts", import.meta.url).href;

/**
 * Share of each chunk's pages the worker makes ids for, at the start and at most. While it also
 * hashes every byte it settles near a quarter; while the raw hash waits (consume.ts) it takes most.
 */
const START_SHARE = 0.2;
const MAX_SHARE = 0.9;
const SHARE_STEP = 0.02;
/** A wait for the worker longer than this means the main thread had nothing else to do. */
const WAITED_MS = 0.5;

interface Waiter {
  resolve: (m: IdMessage) => void;
  reject: (err: Error) => void;
  /** Its answer moves the worker's share (only chunks whose pages the main thread works on). */
  adapts: boolean;
}

/** The worker's part of one chunk: its ids for pages `from` … (0-based in the chunk). */
export interface WorkerIds {
  from: number;
  ids: Promise<Uint8Array>;
}

export class IdHasher implements ChunkHasher {
  private worker: Worker;
  /** One per request sent, answered in order. */
  private waiting: Waiter[] = [];
  /** The ids of each chunk handed over, in order (answered before its "updated"). */
  private idWaiters: ((ids: Uint8Array) => void)[] = [];
  private failed: Error | null = null;
  private share = START_SHARE;
  /** The chunks handed over and not yet taken by idsOf(). */
  private parts = new Map<Uint8Array, WorkerIds>();
  private mainDoneAt = 0;
  /** Between idsOf() and mainDone(): the main thread works on a chunk. */
  private mainBusy = false;

  constructor(
    idKey: Uint8Array,
    private readonly pageSize: number,
  ) {
    this.worker = new Worker(ID_WORKER_URL, { workerData: { idKey } } as WorkerOptions);
    this.worker.onmessage = (e: MessageEvent<IdMessage>) => {
      if (e.data.type === "ids") return this.idWaiters.shift()?.(e.data.ids);
      const w = this.waiting.shift();
      if (e.data.type === "updated" && w?.adapts) this.adapt();
      if (e.data.type === "error") this.fail(new Error(`page id worker: ${e.data.message}`), w);
      else w?.resolve(e.data);
    };
    this.worker.onerror = (e) => this.fail(new Error(`page id worker failed: ${e.message}`));
  }

  private fail(err: Error, first?: Waiter): void {
    this.failed = err;
    first?.reject(err);
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private ask(msg: object, adapts = false): Promise<IdMessage> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, adapts });
      this.worker.postMessage(msg);
    });
  }

  /**
   * Takes `chunk` (whole pages, after those given before it): into the raw SHA-256 when `use.hash`,
   * and for its pages' ids (idsOf) when `use.pages`. Resolves once its buffer is free again.
   */
  async update(chunk: Uint8Array, use: ChunkUse = { hash: true, pages: true }): Promise<void> {
    const n = chunk.length / this.pageSize;
    const from = use.pages ? n - Math.floor(n * this.share) : n;
    const msg = { type: "update", chunk, pageSize: this.pageSize, idsFrom: from, hash: use.hash };
    if (from === n) {
      if (use.pages) this.parts.set(chunk, { from, ids: Promise.resolve(new Uint8Array(0)) });
      await this.ask(msg, use.pages);
      return;
    }
    let answer!: Promise<IdMessage>;
    const ids = new Promise<Uint8Array>((resolve, reject) => {
      answer = this.ask(msg, true);
      answer.catch(reject); // a failure before the ids came
      this.idWaiters.push(resolve);
    });
    ids.catch(() => {}); // awaited by the consumer, if it gets that far
    this.parts.set(chunk, { from, ids });
    await answer;
  }

  /** The worker's part of `chunk` (given to update()), or null for a chunk it was not given. */
  idsOf(chunk: Uint8Array): WorkerIds | null {
    const part = this.parts.get(chunk);
    if (!part) return null;
    this.mainBusy = true;
    this.parts.delete(chunk);
    return part;
  }

  /** The main thread is done with its part of the latest chunk (and about to wait for its hash). */
  mainDone(): void {
    this.mainBusy = false;
    this.mainDoneAt = performance.now();
  }

  /** At a chunk's hash: a main thread that waited for it gives the worker fewer ids to make, else more. */
  private adapt(): void {
    // Hashed while the main thread was still at it: the worker had time to spare.
    const waited = !this.mainBusy && performance.now() - this.mainDoneAt > WAITED_MS;
    this.share = Math.min(MAX_SHARE, Math.max(0, this.share + (waited ? -SHARE_STEP : SHARE_STEP)));
  }

  /** The hex SHA-256 of every chunk given, in order. */
  async digest(): Promise<string> {
    const m = await this.ask({ type: "digest" });
    if (m.type !== "digest") throw new Error(`page id worker: expected digest, got ${m.type}`);
    return m.hex;
  }

  /** Ends the worker; safe to call twice. */
  close(): void {
    this.worker.terminate();
    this.parts.clear();
    this.idWaiters = [];
    this.fail(new Error("page id worker closed"));
  }
}
