/**
 * A separate process that commits to a database as fast as it can, the way an
 * application would, until it receives SIGTERM. Each commit bumps `counter.n`
 * and inserts one `items` row in the same transaction, so any consistent copy
 * has `counter.n` equal to the number of rows it added. On exit it prints
 * `{"commits":N,"errors":[...]}` on stdout.
 *   bun test/helpers/writer.ts DB_PATH
 */
import { Database } from "bun:sqlite";

const path = process.argv[2]!;
const db = new Database(path);
db.run("PRAGMA busy_timeout = 10000");
const bump = db.prepare("UPDATE counter SET n = n + 1");
const insert = db.prepare("INSERT INTO items (name, payload) VALUES ('writer', randomblob(64))");
const commit = db.transaction(() => {
  bump.run();
  insert.run();
});
let commits = 0;
const errors: string[] = [];
let stop = false;
process.on("SIGTERM", () => {
  stop = true;
});
process.stderr.write("ready\n");
while (!stop) {
  try {
    commit();
    commits++;
  } catch (err) {
    errors.push(String(err));
  }
  // Yield so the SIGTERM handler can run.
  if (commits % 20 === 0) await Bun.sleep(0);
}
db.close();
process.stdout.write(`${JSON.stringify({ commits, errors })}\n`);
