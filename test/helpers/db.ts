/** Real SQLite databases for tests. */
import { Database } from "bun:sqlite";

export interface MakeDbOptions {
  journalMode?: "wal" | "delete";
  rows?: number;
  /** Bytes of random payload per row, to make the file large. */
  payloadBytes?: number;
}

/** Creates a database with a few tables, an index, a view and a trigger; returns its path. */
export function makeDatabase(path: string, opts: MakeDbOptions = {}): string {
  const db = new Database(path, { create: true });
  db.run(`PRAGMA journal_mode = ${opts.journalMode ?? "wal"}`);
  db.run("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload BLOB)");
  db.run("CREATE INDEX IF NOT EXISTS items_name ON items(name)");
  db.run("CREATE TABLE IF NOT EXISTS counter (n INTEGER NOT NULL)");
  db.run("CREATE VIEW IF NOT EXISTS item_names AS SELECT name FROM items");
  if ((db.query("SELECT count(*) AS c FROM counter").get() as { c: number }).c === 0)
    db.run("INSERT INTO counter VALUES (0)");
  const insert = db.prepare("INSERT INTO items (name, payload) VALUES (?, randomblob(?))");
  db.transaction(() => {
    for (let i = 0; i < (opts.rows ?? 100); i++) insert.run(`item-${i}`, opts.payloadBytes ?? 16);
  })();
  insert.finalize(); // an unfinalized statement keeps the connection (and its WAL lock) open after close()
  db.close();
  return path;
}

/** Runs one query on a database and returns all rows. */
export function queryAll(path: string, sql: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    db.run("PRAGMA busy_timeout = 10000"); // a rollback-mode writer may hold the lock for a moment
    return db.query(sql).all();
  } finally {
    db.close();
  }
}

export function integrityCheck(path: string): string {
  const rows = queryAll(path, "PRAGMA integrity_check") as { integrity_check: string }[];
  return rows.map((r) => r.integrity_check).join("; ");
}
