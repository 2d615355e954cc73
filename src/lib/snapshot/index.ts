/**
 * A consistent image of a live database, read-only: its pages (WAL-aware) in a worker, or VACUUM INTO; SQLite checks.
 */
export {
  type ChunkHasher,
  type ChunkUse,
  CONSUMER_CHUNK_BYTES,
  type ConsumedSnapshotResult,
  consumePageSnapshot,
  type PageConsumer,
} from "./consume.ts";
export { type CheckResult, checkDatabase, type DatabaseFacts, describeDatabase, openReadOnly } from "./inspect.ts";
export { type CheckReuse, type Reused, takePageSnapshot } from "./pages.ts";
export { assertSourceDatabase, takeSnapshot } from "./vacuum.ts";
