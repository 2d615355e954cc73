/**
 * What sqlbak needs from the operating system: atomic file writes, the lock, the environment file, the test pause hook,
 * helper processes that never outlive the run, and what closes when the run ends.
 */
export { killGroup, trackGroup, untrackGroup } from "./child-groups.ts";
export { applyEnvFile, readEnvFile } from "./env-file.ts";
export {
  commitRename,
  ensureDir,
  FILE_MODE,
  fileInTheWay,
  fsyncDir,
  removeQuietly,
  TEMP_SUFFIX,
  tempPathFor,
  writeFileAtomic,
} from "./fs.ts";
export {
  commitRenameAsync,
  ensureDirAsync,
  fsyncAsync,
  fsyncDirAsync,
  linkAsync,
  openAsync,
  renameAsync,
  writeFileAtomicAsync,
} from "./fs-async.ts";
export { hostName } from "./host.ts";
export { acquireLock, LOCK_FILE, type LockOwner } from "./lock.ts";
export { atRunEnd, endRun } from "./run-end.ts";
export { pausePoint } from "./test-pause.ts";
export { SQLBAK_VERSION } from "./version.ts";
