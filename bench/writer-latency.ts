/**
 * A writer that commits small transactions in a loop until SIGTERM, timing
 * each; prints {"commits","p50_ms","p99_ms","max_ms","errors"} on exit.
 *   bun bench/writer-latency.ts DB_PATH
 */
import { Database } from "bun:sqlite";

const db = new Database(process.argv[2]!);
db.run("PRAGMA busy_timeout = 10000");
db.run("PRAGMA synchronous = NORMAL");
const insert = db.prepare("INSERT INTO events (user_id, kind, payload, created_at) VALUES (1, 'bench', '{}', ?)");
const latencies: number[] = [];
let errors = 0;
let stop = false;
process.on("SIGTERM", () => (stop = true));
process.stderr.write("ready\n");
while (!stop) {
  const t0 = performance.now();
  try {
    insert.run(Date.now());
  } catch {
    errors++;
  }
  latencies.push(performance.now() - t0);
  // About 1000 commits a second, like a busy app; also lets SIGTERM in.
  await Bun.sleep(1);
}
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
console.log(JSON.stringify({ commits: latencies.length, p50_ms: q(0.5), p99_ms: q(0.99), max_ms: q(1), errors }));
