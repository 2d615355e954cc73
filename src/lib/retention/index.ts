/** Which backups survive (a pure policy) and the rotation that applies it, locally and at destinations. */

export { type ForgetOptions, type ForgetResult, forgetBackups } from "./forget.ts";
export { KEEP_TAG } from "./policy-rules.ts";
export { FREE_MARK_RE, markedPieces, type RemoteFreeing } from "./remote-free.ts";
export { loneRotationFailure, runRotations } from "./rotate.ts";
export type { RotateResult } from "./rotate-result.ts";
export { findVanished, type VanishedDatabase } from "./vanished.ts";
