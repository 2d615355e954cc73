/**
 * One folder contract for backup_dir and every destination: the interface, the local
 * implementation, the one listing routine and its rule, staging, the op log.
 */
export type { Backend, RemoteFile } from "./backend.ts";
export { knownDatabaseNames, listDatabases, resolveBackupTargets } from "./catalog.ts";
export {
  type FreedPiece,
  type FreeResult,
  freeStalePieces,
  piecesBytes,
  planFreeing,
  withoutKeys,
} from "./free.ts";
export { FREE_MARK_RE, type FreeMark, markedPieces, readFreeMarks } from "./free-marks.ts";
export {
  configuredKeptCopies,
  KEPT_INFIX,
  KEPT_KIND,
  type KeptCopy,
  keptCopiesOf,
  keptStamp,
  keptTargetOf,
  listKeptCopies,
  planKeptRotation,
  removeKeptCopy,
  rotateKeptCopies,
} from "./kept-copies.ts";
export { assertKey } from "./keys.ts";
export {
  type BackupListing,
  type FolderListing,
  type FolderPieces,
  fetchBackup,
  type ListedBackup,
  type ListedPartial,
  type ListOptions,
  listBackups,
  listByDatabase,
  listedDatabases,
  type PartialFile,
  type PieceFile,
  type StoredBackup,
} from "./list.ts";
export { describeProblem, type ListingProblem, missingDataProblem, STALE_PARTIAL_AGE_MS } from "./listing.ts";
export { LISTINGS_DIR, type ListingCache, openListingCache, type TextCache } from "./listing-cache.ts";
export { freeLocalPieces, listFolder, removeStalePartialFiles, removeStalePartials } from "./local.ts";
export {
  type BackupDirFolder,
  databaseFolder,
  databasesOnDisk,
  type LocalFolder,
  openLocalFolder,
  readManifestText,
} from "./local-folder.ts";
export {
  applyTagMark,
  parseTagMark,
  serializeTagMark,
  TAG_RE,
  TAGS_MARK_SUFFIX,
  type TagMark,
  tagsMarkId,
  tagsMarkName,
} from "./marks.ts";
export { appendOpLog, type LoggedEntry, readOpLog } from "./oplog.ts";
export { SETTLE_MS, settledStamp } from "./settle.ts";
export {
  listStaging,
  STAGING_PREFIX,
  STALE_STAGING_AGE_MS,
  type StagingLeftover,
  sweepStaleStaging,
} from "./staging.ts";
export { changeBackupTag, checkTag, databaseOfId, findListed, type TagChangeResult } from "./tag-backup.ts";
