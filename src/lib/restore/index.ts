/** Plans and performs a safe restore: the chosen backup, a pre-restore safety copy, an atomic swap. */

export { checkRestoreKeys, performRestore, type RestoreSource } from "./perform.ts";
export {
  type BackupSelector,
  describePlan,
  parseRestoreSelector,
  planRestore,
  type RestorePlan,
  selectBackup,
} from "./plan.ts";
export { reassemblePages } from "./reassemble.ts";
export { type RestoredPermissions, type RestoreResult, runRestore } from "./run.ts";
