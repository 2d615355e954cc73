/**
 * A consistent image of a live database, read-only: its pages (WAL-aware; the reader in a worker, or in-thread when small), or VACUUM INTO; SQLite checks.
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
export { INLINE_READER_MAX_BYTES, type ReaderChoice } from "./readers.ts";
export { assertSourceDatabase, takeSnapshot } from "./vacuum.ts";
