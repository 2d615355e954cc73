/** Plans and performs a safe restore: the chosen backup, a pre-restore safety copy, an atomic swap. */

/** Rebuilding a pages backup's image lives with verify, which checks it; restore uses it the same way. */
export { reassemblePages } from "../verify/index.ts";
export { type KeptRestoreOptions, runKeptRestore } from "./kept-restore.ts";
export { checkRestoreKeys, performRestore, type RestoreSource } from "./perform.ts";
export {
  type BackupSelector,
  describePlan,
  parseRestoreCheck,
  parseRestoreSelector,
  planRestore,
  RESTORE_CHECKS,
  type RestoreCheck,
  type RestorePlan,
  selectBackup,
} from "./plan.ts";
export type { RestoredPermissions } from "./prepare.ts";
export { type RestoreResult, runRestore } from "./run.ts";
