/**
 * Creates a small but real WAL-mode database to try sqlbak on.
 *   bun scripts/demo-db.ts PATH
 */
import { Database } from "bun:sqlite";

const path = process.argv[2];
if (!path) {
  console.error("usage: bun scripts/demo-db.ts PATH");
  process.exit(2);
}
const db = new Database(path, { create: true });
db.run("PRAGMA journal_mode = WAL");
db.run("CREATE TABLE IF NOT EXISTS employees (id INTEGER PRIMARY KEY, name TEXT NOT NULL, hired TEXT, notes TEXT)");
db.run("CREATE INDEX IF NOT EXISTS employees_name ON employees(name)");
const insert = db.prepare("INSERT INTO employees (name, hired, notes) VALUES (?, date('2020-01-01', ? || ' days'), ?)");
db.transaction(() => {
  for (let i = 0; i < 5000; i++) insert.run(`employee ${i}`, i % 2000, `notes for employee ${i} `.repeat(4));
})();
db.close();
console.log(path);
