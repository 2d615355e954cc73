/**
 * Proves a backup restores: checksums, decompression, SQLite checks; selection, recording, and
 * verifying at a destination.
 */
export {
  checkStoredFile,
  inspectImage,
  removeImage,
  VERIFY_LEVELS,
  type VerifyLevel,
  type VerifyOutcome,
} from "./check.ts";
export { BackupDamagedError, ReassemblyError } from "./damaged.ts";
export { decompressChecked } from "./decompress.ts";
export { reassembleChecked } from "./extract-pages.ts";
export { runVerifyJob, type VerifyJobOptions, type VerifyJobResult, verifyJobFailure } from "./job.ts";
export { verifyNotification } from "./notification.ts";
export { reassemblePages } from "./reassemble.ts";
export { runVerifyFrom } from "./remote.ts";
export { runVerify, type VerifyResult } from "./run.ts";
export { sweepStaleVerifyScratch } from "./scratch.ts";
export {
  databaseOfId,
  parseRandomCount,
  parseVerifyTarget,
  selectForVerify,
  type VerifySelector,
  type VerifyTarget,
} from "./select.ts";
