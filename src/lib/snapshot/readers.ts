/**
 * The two ways a page-level snapshot holds its read transaction, behind one
 * interface: on a worker thread (the check then runs on the spare core while
 * this thread copies), or in this thread (no worker start-up, about 15-20 ms
 * on the 2-core VM measured; the check runs after the copy). Both run the same
 * ReaderCore, so they pin, check and release the same way; which one a
 * snapshot uses depends only on the source's size (readerFor, docs/performance.md).
 */
import { statSync } from "node:fs";
import type { CheckLevel } from "../model/index.ts";
import { OperationError } from "../model/index.ts";
import type { CheckResult, DatabaseFacts } from "./inspect.ts";
import type { Pinned } from "./pin.ts";
import type { ReaderMessage } from "./reader.ts";
import { ReaderCore } from "./reader-core.ts";

/**
 * Database file plus WAL at most this big: the reader runs in-thread. Below it the
 * worker's start-up costs more than running the check after the copy instead of
 * beside it (a quick_check of 16 MiB takes ~10 ms here); measured in docs/performance.md.
 */
export const INLINE_READER_MAX_BYTES = 16 * 1024 * 1024;

/** Which reader: "auto" picks by the source's size (INLINE_READER_MAX_BYTES). */
export type ReaderChoice = "auto" | "inline" | "worker";

/** What copyOnce needs of a reader: the pinned state, the check when asked, and the end of the transaction. */
export interface SnapshotReader {
  readonly kind: "inline" | "worker";
  /** Whether the check of the pinned state was asked for. */
  readonly checking: boolean;
  pinned(): Promise<Pinned>;
  /** Starts the check of the pinned state (once; later calls do nothing). */
  startCheck(): void;
  /** The check's result and the image's facts (starts the check if it was not). */
  checked(): Promise<{ check: CheckResult; facts: DatabaseFacts }>;
  /** Ends the read transaction; safe to call in any state. */
  finish(): Promise<void>;
}

/** Bytes of `source` and its WAL now (a missing file counts 0: the snapshot reports it). */
function sourceBytes(source: string): number {
  let n = 0;
  for (const suffix of ["", "-wal"]) {
    try {
      n += statSync(source + suffix).size;
    } catch {
      // absent
    }
  }
  return n;
}

export function readerFor(source: string, check: CheckLevel, choice: ReaderChoice = "auto"): SnapshotReader {
  const inline = choice === "inline" || (choice === "auto" && sourceBytes(source) <= INLINE_READER_MAX_BYTES);
  return inline ? new InlineReader(source, check) : new WorkerReader(source, check);
}

/** The reader in this thread: each step runs when asked; the check when its result is. */
class InlineReader implements SnapshotReader {
  readonly kind = "inline";
  checking = false;
  private core: ReaderCore | null = null;
  constructor(
    private readonly source: string,
    private readonly level: CheckLevel,
  ) {}
  async pinned(): Promise<Pinned> {
    this.core = new ReaderCore(this.source, this.level);
    return this.core.pin();
  }
  startCheck(): void {
    this.checking = true;
  }
  async checked() {
    if (!this.core) throw new Error("snapshot reader: check before start");
    this.checking = true;
    return this.core.check();
  }
  async finish(): Promise<void> {
    const core = this.core;
    this.core = null;
    core?.close();
  }
}

/**
 * The worker's entry. Run from source, this module's URL is its own file; in
 * the compiled binary every module carries the binary's URL and the worker is
 * stored under lib/snapshot/ (package.json's build lists it as a second entry point).
 */
const READER_URL = import.meta.url.endsWith("/snapshot/readers.ts")
  ? new URL("./reader.ts", import.meta.url).href
  : new URL("./lib/snapshot/reader.ts", import.meta.url).href;

/** The worker holding the read transaction (reader.ts), as a queue of its messages. */
class WorkerReader implements SnapshotReader {
  readonly kind = "worker";
  private worker = new Worker(READER_URL);
  private inbox: ReaderMessage[] = [];
  private waiting: ((m: ReaderMessage) => void) | null = null;
  private closed = false;
  checking = false;

  constructor(source: string, check: CheckLevel) {
    this.worker.onmessage = (e: MessageEvent<ReaderMessage>) => this.deliver(e.data);
    this.worker.onerror = (e) =>
      this.deliver({ type: "error", message: `snapshot reader failed: ${e.message}`, operation: true });
    this.worker.postMessage({ type: "start", source, check });
  }
  async pinned(): Promise<Pinned> {
    return (await this.next("pinned")).pin;
  }
  startCheck(): void {
    if (this.checking || this.closed) return;
    this.checking = true;
    this.worker.postMessage({ type: "check" });
  }
  async checked() {
    this.startCheck();
    const { check, facts } = await this.next("checked");
    return { check, facts };
  }
  private deliver(m: ReaderMessage) {
    if (m.type === "error" || m.type === "closed") this.closed = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(m);
    } else this.inbox.push(m);
  }
  /** The next message, which must be of `type`; a reported error is thrown. */
  private async next<T extends ReaderMessage["type"]>(type: T): Promise<Extract<ReaderMessage, { type: T }>> {
    const m = this.inbox.shift() ?? (await new Promise<ReaderMessage>((r) => (this.waiting = r)));
    if (m.type === "error")
      throw m.operation
        ? new OperationError(m.message, { hint: m.hint })
        : Object.assign(new Error(m.message), { code: m.code });
    if (m.type !== type) throw new Error(`snapshot reader: expected ${type}, got ${m.type}`);
    return m as Extract<ReaderMessage, { type: T }>;
  }
  async finish(): Promise<void> {
    try {
      if (!this.closed) {
        this.worker.postMessage({ type: "finish" });
        while (!this.closed) await this.next("closed").catch(() => {});
      }
    } finally {
      this.worker.terminate();
    }
  }
}
