/**
 * The snapshot reader's work, on whichever thread runs it: open a read-only
 * connection, pin one committed state under a read transaction (pin.ts), check
 * that same state inside the same transaction, and end it. The worker
 * (reader.ts) runs it on the spare core for big databases; a small one runs it
 * in-thread (readers.ts), which spares the worker's start-up. Either way the
 * same code holds the same transaction over the same descriptors, so the
 * guarantees of pages.ts and pin.ts are the same (docs/snapshot.md).
 */
import { Database } from "bun:sqlite";
import type { CheckLevel } from "../model/index.ts";
import { type CheckResult, checkDatabase, type DatabaseFacts, describeDatabase } from "./inspect.ts";
import { type Pinned, pinState, SourceFiles } from "./pin.ts";

export class ReaderCore {
  private db: Database | undefined;
  private files: SourceFiles | undefined;

  /** Opens the connection (read-only: closing it never checkpoints or deletes the source's WAL) and pins a state. */
  constructor(
    source: string,
    private readonly level: CheckLevel,
  ) {
    this.files = new SourceFiles(source);
    try {
      this.db = new Database(source, { readonly: true });
      this.db.run("PRAGMA busy_timeout = 0"); // pinState polls instead
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Starts the read transaction and returns the state it pinned. */
  pin(): Pinned {
    if (!this.db || !this.files) throw new Error("snapshot reader: pin after close");
    return pinState(this.db, this.files);
  }

  /** Checks the pinned state at the level asked, inside the same transaction, and reads its facts. */
  check(): { check: CheckResult; facts: DatabaseFacts } {
    if (!this.db) throw new Error("snapshot reader: check before start");
    return { check: checkDatabase(this.db, this.level), facts: describeDatabase(this.db) };
  }

  /**
   * Ends the transaction, then closes the connection, then our
   * descriptors (that order keeps SQLite's locks until the end). Safe to call twice.
   */
  close(): void {
    try {
      if (this.db?.inTransaction) this.db.run("ROLLBACK");
    } finally {
      this.db?.close();
      this.db = undefined;
      this.files?.closeAll();
      this.files = undefined;
    }
  }
}
