/**
 * A consistent image of a live database, read-only: its pages (WAL-aware) in a worker, or VACUUM INTO; SQLite checks.
 */
export { type CheckResult, checkDatabase, type DatabaseFacts, describeDatabase, openReadOnly } from "./inspect.ts";
export { takePageSnapshot } from "./pages.ts";
export { assertSourceDatabase, takeSnapshot } from "./vacuum.ts";
