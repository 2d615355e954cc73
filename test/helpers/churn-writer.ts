/**
 * A writer whose every committed state is a pure function of its commit
 * counter, so a test can rebuild the state a snapshot claims (replayCommits)
 * and compare the two. Commit k, in one transaction: counter.n = k, one
 * 'writer' row with a 64-byte payload derived from k, and in churn/vacuum mode
 * every 25th commit also adds 100 'bulk' rows of 2 KiB, or deletes them all
 * every 50th (a consistent copy holds 0 or 100). vacuum mode also runs VACUUM
 * every 300 commits, which moves pages but changes no content.
 *   bun test/helpers/churn-writer.ts DB_PATH [plain|churn|vacuum]
 * Prints {"commits":N,"errors":[...]} on SIGTERM.
 */
import { Database } from "bun:sqlite";

export type ChurnMode = "plain" | "churn" | "vacuum";

/** Deterministic bytes: the same (seed, length) always gives the same payload. */
function payload(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = a >>> 24;
  }
  return out;
}

/** Returns a function that applies commit k (counter goes from k-1 to k) to `db`. */
export function churnCommitter(db: Database, mode: ChurnMode): (k: number) => void {
  const bump = db.prepare("UPDATE counter SET n = ?");
  const insert = db.prepare("INSERT INTO items (name, payload) VALUES ('writer', ?)");
  const addBulk = db.prepare("INSERT INTO items (name, payload) VALUES ('bulk', ?)");
  const dropBulk = db.prepare("DELETE FROM items WHERE name = 'bulk'");
  return db.transaction((k: number) => {
    bump.run(k);
    insert.run(payload(k, 64));
    if (mode === "plain" || k % 25 !== 0) return;
    if (k % 50 === 0) dropBulk.run();
    else for (let i = 0; i < 100; i++) addBulk.run(payload(k * 1000 + i, 2048));
  });
}

/** Brings `db` (a copy of the writer's starting state at counter `from`) to counter `to`. */
export function replayCommits(db: Database, mode: ChurnMode, from: number, to: number): void {
  const commit = churnCommitter(db, mode);
  for (let k = from + 1; k <= to; k++) commit(k);
}

if (import.meta.main) {
  const path = process.argv[2]!;
  const mode = (process.argv[3] ?? "plain") as ChurnMode;
  const db = new Database(path);
  db.run("PRAGMA busy_timeout = 10000");
  const commit = churnCommitter(db, mode);
  let k = Number(db.query("SELECT n FROM counter").values()[0]?.[0]);
  const start = k;
  const errors: string[] = [];
  let stop = false;
  let iterations = 0;
  process.on("SIGTERM", () => {
    stop = true;
  });
  process.stderr.write("ready\n");
  while (!stop) {
    try {
      commit(k + 1);
      k++;
      if (mode === "vacuum" && k % 300 === 0) db.run("VACUUM");
    } catch (err) {
      errors.push(String(err));
    }
    if (++iterations % 10 === 0) await Bun.sleep(0); // lets SIGTERM in
  }
  db.close();
  process.stdout.write(`${JSON.stringify({ commits: k - start, errors })}\n`);
}
