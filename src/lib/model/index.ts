/** Ids, names, the manifest and shared constants: the values every other folder speaks in. Imports nothing from lib. */

export {
  type BadPackRecord,
  badPacksOf,
  describePackFailure,
  type PackFailure,
  packFailuresOf,
} from "./bad-packs.ts";
export {
  CHECK_LEVELS,
  type CheckLevel,
  COMPRESSIONS,
  type Compression,
  DATABASE_NAME_RE,
  JSON_OUTPUT_VERSION,
  SNAPSHOT_METHOD_NAMES,
  type SnapshotMethodName,
} from "./constants.ts";
export { type CronExpr, type CronField, CronSyntaxError, isDayOrSemantics, nextRuns, parseCron } from "./cron.ts";
export {
  type CalendarWindow,
  formatSpan,
  formatSpanSetting,
  isEmptyWindow,
  parseCalendarWindow,
  parseSpanMs,
  spanProblem,
} from "./duration.ts";
export {
  ConfigError,
  describeError,
  EXIT,
  type ExitCode,
  fsErrorMessage,
  LockedError,
  OperationError,
  OutcomeError,
  RunTimeoutError,
  SqlbakError,
  UsageError,
} from "./errors.ts";
export { formatAge, formatBytes, formatLocalTime, renderTable } from "./format.ts";
export {
  type BackupKind,
  isMetaSealed,
  KINDS,
  latestVerification,
  MANIFEST_FORMAT,
  MAX_MANIFEST_BYTES,
  MAX_PACKS,
  type Manifest,
  type ManifestEncryption,
  type ManifestMetaBlock,
  type MetaFields,
  metaFieldsOf,
  STORED_FORMATS,
  type StoredFile,
  type StoredFormat,
  type StoredPack,
  type StoredPages,
  serializeManifest,
  storedFormat,
  storedPages,
  type Verification,
  withMetaFields,
} from "./manifest.ts";
export { parseManifest, parseMetaFields } from "./manifest-parse.ts";
export {
  DATA_FILE_RE,
  dataFileName,
  type IndexSealing,
  MANIFEST_EXTENSION,
  MAP_FILE_RE,
  manifestFileName,
  mapFileName,
  newBackupId,
  newPackStem,
  PACK_FILE_RE,
  PACK_INDEX_RE,
  packFileName,
  packIndexName,
  packStartedAt,
  parseBackupId,
  SEALED_INDEX_EXTENSION,
} from "./names.ts";
export { type PackState, packStates, trimVerifications } from "./pack-states.ts";
export type { ByteProgress, ProgressFn } from "./progress.ts";
export {
  beforeShrinkId,
  describeShrink,
  detectShrink,
  isUnacknowledgedShrink,
  newestOwn,
  shrinkReference,
} from "./shrink.ts";
export { addedBytes, storedBytesOf } from "./stored-size.ts";
export { suggestCommand } from "./suggest.ts";
export {
  describeWalStarvation,
  WAL_BACKLOG_CEILING_BYTES,
  WAL_BACKLOG_FLOOR_BYTES,
  WAL_STARVATION_ADVICE,
  type WalStarvation,
  walStarvationOf,
} from "./wal.ts";
