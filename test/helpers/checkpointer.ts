/**
 * Another client checkpointing a WAL database in a loop, cycling through
 * PASSIVE, RESTART and TRUNCATE, so WAL restarts and file truncations race
 * with a snapshot. Waits briefly on busy (a snapshot's read mark blocks
 * RESTART/TRUNCATE) and counts outcomes; prints {"runs":N,"busy":M} on SIGTERM.
 *   bun test/helpers/checkpointer.ts DB_PATH
 */
import { Database } from "bun:sqlite";

const db = new Database(process.argv[2]!);
db.run("PRAGMA busy_timeout = 50");
const modes = ["PASSIVE", "RESTART", "TRUNCATE"];
let runs = 0;
let busy = 0;
let stop = false;
process.on("SIGTERM", () => {
  stop = true;
});
process.stderr.write("ready\n");
while (!stop) {
  const row = db.query(`PRAGMA wal_checkpoint(${modes[runs % 3]})`).values()[0];
  if (row?.[0] === 1) busy++;
  runs++;
  await Bun.sleep(2);
}
db.close();
process.stdout.write(`${JSON.stringify({ runs, busy })}\n`);
