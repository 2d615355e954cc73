/** One folder contract for backup_dir and every destination: the listing rule, the backend interface, staging, the op log. */
export type { Backend, RemoteFile } from "./backend.ts";
export { knownDatabaseNames, listDatabases, resolveBackupTargets } from "./catalog.ts";
export { assertKey } from "./keys.ts";
export { describeProblem, type ListingProblem, missingDataProblem } from "./listing.ts";
export {
  databaseFolder,
  type FolderListing,
  listFolder,
  readManifestText,
  removeStalePartials,
  STALE_PARTIAL_AGE_MS,
  type StoredBackup,
} from "./local.ts";
export { appendOpLog, type LoggedEntry, readOpLog } from "./oplog.ts";
export { fetchBackup, listRemote, type RemoteBackup, remoteDatabases } from "./remote.ts";
export {
  listStaging,
  STAGING_PREFIX,
  STALE_STAGING_AGE_MS,
  type StagingLeftover,
  sweepStaleStaging,
} from "./staging.ts";
