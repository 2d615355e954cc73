/**
 * A separate process that keeps a database open the way an application does,
 * until killed. Prints "ready" on stderr once it holds the database.
 *   bun test/helpers/holder.ts DB_PATH open|read|txn
 * open: connection opened, nothing read; read: one query done (in WAL mode this
 * keeps a shared lock); txn: a read transaction left open.
 */
import { Database } from "bun:sqlite";

const [path, how = "read"] = process.argv.slice(2);
const db = new Database(path!);
if (how === "txn") db.run("BEGIN");
if (how !== "open") db.query("SELECT count(*) FROM sqlite_schema").all();
process.stderr.write("ready\n");
// The timer's closure keeps `db` reachable: an unreachable Database is collected, and closed.
setInterval(() => db, 1 << 30);
