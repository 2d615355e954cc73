/**
 * Like writer.ts (each commit bumps `counter.n` and adds one 'writer' row, so
 * a consistent copy has counter.n == its writer rows), and in between makes
 * the database grow and shrink, to move pages around under a snapshot:
 *   bun test/helpers/churn-writer.ts DB_PATH [plain|churn|vacuum]
 * churn: every 25 commits, one transaction adds 100 'bulk' rows of 2 KiB or
 * deletes them all (so a consistent copy holds 0 or 100). vacuum: also runs
 * VACUUM every 300 commits. Prints {"commits":N,"errors":[...]} on SIGTERM.
 */
import { Database } from "bun:sqlite";

const path = process.argv[2]!;
const mode = process.argv[3] ?? "plain";
const db = new Database(path);
db.run("PRAGMA busy_timeout = 10000");
const bump = db.prepare("UPDATE counter SET n = n + 1");
const insert = db.prepare("INSERT INTO items (name, payload) VALUES ('writer', randomblob(64))");
const commit = db.transaction(() => {
  bump.run();
  insert.run();
});
const grow = db.transaction(() => {
  for (let i = 0; i < 100; i++) db.run("INSERT INTO items (name, payload) VALUES ('bulk', randomblob(2048))");
});
const shrink = db.prepare("DELETE FROM items WHERE name = 'bulk'");
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
    if (mode !== "plain" && commits % 25 === 0) (commits % 50 === 0 ? shrink.run() : grow());
    if (mode === "vacuum" && commits % 300 === 0) db.run("VACUUM");
  } catch (err) {
    errors.push(String(err));
  }
  if (commits % 10 === 0) await Bun.sleep(0);
}
db.close();
process.stdout.write(`${JSON.stringify({ commits, errors })}\n`);
