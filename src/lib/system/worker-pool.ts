/**
 * Worker threads kept for one run of many databases (`backup --parallel`):
 * a worker is started when first needed, handed back once its database is
 * done, and taken again by the next database instead of a new one (each
 * start-up costs 15-20 ms on the 2-core VM, more under load:
 * docs/performance.md, "Many databases in one run"). close() ends every
 * worker, idle or handed back later; nothing outlives the pool's run.
 * A worker whose use went wrong is ended by its user (discard), never handed back.
 */

let live = 0;
let started = 0;

/** Workers started by any pool and not ended yet, and started in all (tests: nothing left running, reuse). */
export function pooledWorkers(): { live: number; started: number } {
  return { live, started };
}

export class WorkerPool {
  private idle = new Map<string, Worker[]>();
  private closed = false;
  private ended = new WeakSet<Worker>();

  /** An idle worker of `url`, or a new one. */
  take(url: string): Worker {
    const w = this.idle.get(url)?.pop();
    if (w) return w;
    started++;
    live++;
    return new Worker(url);
  }

  /** Hands `worker` back for the next database (its handlers are dropped); after close() it is ended. */
  give(url: string, worker: Worker): void {
    worker.onmessage = null;
    worker.onerror = null;
    if (this.closed) return this.discard(worker);
    const list = this.idle.get(url) ?? [];
    list.push(worker);
    this.idle.set(url, list);
  }

  /** Ends `worker` (taken from this pool) for good. */
  discard(worker: Worker): void {
    if (this.ended.has(worker)) return;
    this.ended.add(worker);
    worker.terminate();
    live--;
  }

  /** Ends every idle worker; any handed back later is ended then. Safe to call twice. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const w of list.splice(0)) this.discard(w);
  }
}
