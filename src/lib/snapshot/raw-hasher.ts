/**
 * A SHA-256 computed on another thread (hash-worker.ts): update() hands a
 * chunk over and resolves once it is hashed (the chunk's buffer may then be
 * reused); chunks are hashed in the order given. A chunk over a
 * SharedArrayBuffer is read in place, any other is copied to the worker.
 */
import type { HashMessage } from "./hash-worker.ts";

/** The worker's entry: beside this file from source, under lib/snapshot/ in the compiled binary. */
const HASH_WORKER_URL = import.meta.url.endsWith("/snapshot/raw-hasher.ts")
  ? new URL("./hash-worker.ts", import.meta.url).href
  : new URL("./lib/snapshot/hash-worker.ts", import.meta.url).href;

interface Waiter {
  resolve: (m: HashMessage) => void;
  reject: (err: Error) => void;
}

export class RawHasher {
  private worker = new Worker(HASH_WORKER_URL);
  /** One per request sent, answered in order. */
  private waiting: Waiter[] = [];
  private failed: Error | null = null;

  constructor() {
    this.worker.onmessage = (e: MessageEvent<HashMessage>) => {
      const w = this.waiting.shift();
      if (e.data.type === "error") this.fail(new Error(`raw hash worker: ${e.data.message}`), w);
      else w?.resolve(e.data);
    };
    this.worker.onerror = (e) => this.fail(new Error(`raw hash worker failed: ${e.message}`));
  }

  private fail(err: Error, first?: Waiter): void {
    this.failed = err;
    first?.reject(err);
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private ask(msg: object): Promise<HashMessage> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(msg);
    });
  }

  /** Hashes `chunk` after the chunks given before it; resolves once its buffer is free again. */
  async update(chunk: Uint8Array): Promise<void> {
    await this.ask({ type: "update", chunk });
  }

  /** The hex SHA-256 of every chunk given, in order. */
  async digest(): Promise<string> {
    const m = await this.ask({ type: "digest" });
    if (m.type !== "digest") throw new Error(`raw hash worker: expected digest, got ${m.type}`);
    return m.hex;
  }

  /** Ends the worker; safe to call twice. */
  close(): void {
    this.worker.terminate();
    this.fail(new Error("raw hash worker closed"));
  }
}
