/**
 * A consistent copy of a live database. `VACUUM INTO` runs inside one read
 * transaction on a read-only connection: it sees one committed state, does not
 * block WAL-mode writers, never checkpoints or deletes the source's WAL, and
 * leaves the source untouched. In rollback-journal mode the read lock does make
 * writers wait, so the connection has a busy timeout for the writer's commit.
 */
import { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { describeError, fsErrorMessage, OperationError } from "../model/index.ts";
import { hasSqliteHeader } from "./inspect.ts";

/** A writer in rollback mode holds its lock for one commit; this covers a slow one. */
const SNAPSHOT_BUSY_TIMEOUT_MS = 30_000;

export interface SnapshotInfo {
  method: "vacuum_into";
  journal_mode: string;
}

/** Fails with a clear OperationError unless `path` is a readable SQLite database file. */
export function assertSourceDatabase(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new OperationError(fsErrorMessage(err, "open database", path));
  }
  if (!st.isFile()) throw new OperationError(`not a database file: ${path}`);
  let ok: boolean;
  try {
    ok = hasSqliteHeader(path);
  } catch (err) {
    throw new OperationError(fsErrorMessage(err, "read database", path));
  }
  if (!ok) throw new OperationError(`not a SQLite database: ${path}`);
}

/**
 * Writes a consistent snapshot of the database at `source` to `dest` (which must
 * not exist). Returns how it was taken and the source's journal mode.
 */
export function takeSnapshot(source: string, dest: string): SnapshotInfo {
  assertSourceDatabase(source);
  let db: Database | undefined;
  try {
    db = new Database(source, { readonly: true });
    db.run(`PRAGMA busy_timeout = ${SNAPSHOT_BUSY_TIMEOUT_MS}`);
    const journalMode = String(db.query("PRAGMA journal_mode").values()[0]?.[0] ?? "unknown");
    db.run("VACUUM INTO ?", [dest]);
    return { method: "vacuum_into", journal_mode: journalMode };
  } catch (err) {
    if (err instanceof OperationError) throw err;
    const code = (err as { code?: string }).code;
    if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
      throw new OperationError(`not a SQLite database, or damaged: ${source} (${describeError(err)})`);
    }
    throw new OperationError(`snapshot of ${source} failed: ${describeError(err)}`, { cause: err });
  } finally {
    db?.close();
  }
}
