/**
 * Worker thread of a page-level snapshot: owns the SQLite connection whose read
 * transaction pins the state, tells the main thread which bytes make it up,
 * then checks that same state (quick_check / integrity_check, schema and row
 * counts) inside the same transaction while the main thread copies and
 * compresses it: the check runs on the spare core and needs no copy on disk.
 * Ends the transaction only when told the copy is done.
 *   main → {type:"start", source, check}   ← {type:"pinned", pin}
 *                                           ← {type:"checked", check, facts}
 *   main → {type:"finish"}                  ← {type:"closed"}
 * Any failure: ← {type:"error", ...} after the connection is closed.
 * Listed as a second entry point of the compiled binary (package.json build).
 */
import { Database } from "bun:sqlite";
import { type CheckLevel, describeError, OperationError } from "../model/index.ts";
import { type CheckResult, checkDatabase, type DatabaseFacts, describeDatabase } from "./inspect.ts";
import { type Pinned, pinState, SourceFiles } from "./pin.ts";

export type ReaderRequest = { type: "start"; source: string; check: CheckLevel } | { type: "finish" };
export type ReaderMessage =
  | { type: "pinned"; pin: Pinned }
  | { type: "checked"; check: CheckResult; facts: DatabaseFacts }
  | { type: "closed" }
  | { type: "error"; message: string; code?: string; hint?: string; operation: boolean };

declare const self: Worker;
const post = (m: ReaderMessage) => self.postMessage(m);

let db: Database | undefined;
let files: SourceFiles | undefined;

/**
 * Ends the transaction, then closes the connection, then our
 * descriptors (that order keeps SQLite's locks until the end).
 */
function close(): void {
  try {
    if (db?.inTransaction) db.run("ROLLBACK");
  } finally {
    db?.close();
    db = undefined;
    files?.closeAll();
    files = undefined;
  }
}

function start(source: string, level: CheckLevel): void {
  files = new SourceFiles(source);
  // Read-only: closing it never checkpoints or deletes the source's WAL.
  db = new Database(source, { readonly: true });
  db.run("PRAGMA busy_timeout = 0"); // pinState polls instead
  post({ type: "pinned", pin: pinState(db, files) });
  const check = checkDatabase(db, level);
  post({ type: "checked", check, facts: describeDatabase(db) });
}

self.onmessage = (event: MessageEvent<ReaderRequest>) => {
  const req = event.data;
  try {
    if (req.type === "start") return start(req.source, req.check);
    close();
    post({ type: "closed" });
  } catch (err) {
    try {
      close();
    } catch {
      // the first error is the one to report
    }
    const e = err as { code?: string; hint?: string };
    post({
      type: "error",
      message: describeError(err),
      code: e.code,
      hint: e.hint,
      operation: err instanceof OperationError,
    });
  }
};
