import { type DecryptionKeys, NO_KEYS, WrongKeyError } from "../codec/index.ts";
import type { ResolvedConfig, ResolvedDestination } from "../config/index.ts";
import { withFetched } from "../destinations/index.ts";
import { describeError, OperationError, type ProgressFn } from "../model/index.ts";
import type { Backend, ListedBackup } from "../store/index.ts";
import { type VerifyLevel, verifyBackup } from "./check.ts";
import { attemptVerify, logVerification, probesFor, type VerifyResult } from "./run.ts";

/**
 * `verify --from`: downloads each backup and runs the same checks as a local
 * verify. The outcome goes to the op log (with the destination); remote
 * manifests are never rewritten, so a destination only ever receives whole backups.
 * `onProgress` hears each download and each pass of the checks.
 */
export async function runVerifyFrom(
  config: ResolvedConfig,
  backend: Backend,
  dest: ResolvedDestination,
  backups: ListedBackup[],
  level: VerifyLevel,
  keys: DecryptionKeys = NO_KEYS,
  onProgress?: ProgressFn,
): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const b of backups) {
    const probes = probesFor(config, b.manifest.database);
    const result = await attemptVerify(
      b,
      level,
      () =>
        withFetched(config, backend, b, (local) => verifyBackup(local, level, probes, keys, onProgress), {
          onProgress,
          destination: dest.name,
        }),
      // A wrong key or a full local disk says nothing about the copy; neither does a failed download.
      (err) =>
        err instanceof WrongKeyError || err instanceof OperationError
          ? err.message
          : `cannot download from ${dest.name}: ${describeError(err)}`,
    );
    const logError = logVerification(config, result, dest.name);
    if (logError) result.warning = logError;
    results.push(result);
  }
  return results;
}
