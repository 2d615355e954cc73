/**
 * Worker thread of a page-level snapshot: owns the SQLite connection whose read
 * transaction pins the state, tells the main thread which bytes make it up,
 * then checks that same state (quick_check / integrity_check, schema and row
 * counts) inside the same transaction while the main thread copies and
 * compresses it: the check runs on the spare core and needs no copy on disk.
 * The check starts only when asked ("check"), so a snapshot whose image is one
 * that passed its check already can end without spending CPU on it.
 * Ends the transaction only when told the copy is done.
 *   main → {type:"start", source, check}   ← {type:"pinned", pin}
 *   main → {type:"check"} (optional)        ← {type:"checked", check, facts}
 *   main → {type:"finish"}                  ← {type:"closed"}
 * Any failure: ← {type:"error", ...} after the connection is closed.
 * Listed as a second entry point of the compiled binary (package.json build).
 */
import { Database } from "bun:sqlite";
import { type CheckLevel, describeError, OperationError } from "../model/index.ts";
import { type CheckResult, checkDatabase, type DatabaseFacts, describeDatabase } from "./inspect.ts";
import { type Pinned, pinState, SourceFiles } from "./pin.ts";

export type ReaderRequest =
  | { type: "start"; source: string; check: CheckLevel }
  | { type: "check" }
  | { type: "finish" };
export type ReaderMessage =
  | { type: "pinned"; pin: Pinned }
  | { type: "checked"; check: CheckResult; facts: DatabaseFacts }
  | { type: "closed" }
  | { type: "error"; message: string; code?: string; hint?: string; operation: boolean };

declare const self: Worker;
const post = (m: ReaderMessage) => self.postMessage(m);

let db: Database | undefined;
let files: SourceFiles | undefined;
let level: CheckLevel = "full";

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

function start(source: string, asked: CheckLevel): void {
  level = asked;
  files = new SourceFiles(source);
  // Read-only: closing it never checkpoints or deletes the source's WAL.
  db = new Database(source, { readonly: true });
  db.run("PRAGMA busy_timeout = 0"); // pinState polls instead
  post({ type: "pinned", pin: pinState(db, files) });
}

function check(): void {
  if (!db) throw new Error("snapshot reader: check before start");
  const result = checkDatabase(db, level);
  post({ type: "checked", check: result, facts: describeDatabase(db) });
}

self.onmessage = (event: MessageEvent<ReaderRequest>) => {
  const req = event.data;
  try {
    if (req.type === "start") return start(req.source, req.check);
    if (req.type === "check") return check();
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
