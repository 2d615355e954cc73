/**
 * Restoring a chosen backup, local or at a destination: the key is checked
 * before anything is asked or downloaded, and a remote backup is downloaded
 * into a staging folder under backup_dir, checked again, then restored like a
 * local one.
 */
import { assertDecryptable, type DecryptionKeys, requireDecryptionKeys } from "../codec/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { withFetched } from "../destinations/index.ts";
import type { Backend, ListedBackup, StoredBackup } from "../store/index.ts";
import type { RestorePlan } from "./plan.ts";
import { type RestoreResult, runRestore } from "./run.ts";

/** Where a backup read from a destination comes from. */
export interface RestoreSource {
  backend: Backend;
  destination: string;
}

/**
 * Fails (UsageError, WrongKeyError) when `keys` cannot open `backup`, before
 * any prompt, download or change. At a destination only the manifest is at
 * hand, so only the presence of a key is checked; the key itself is tried
 * after the download (performRestore).
 */
export async function checkRestoreKeys(backup: StoredBackup, keys: DecryptionKeys, atDestination: boolean) {
  if (atDestination) requireDecryptionKeys([backup.manifest], keys);
  else await assertDecryptable(backup, keys);
}

/**
 * Carries out a confirmed plan (runRestore), first downloading its backup
 * from `from` when it is at a destination; the download's staging folder is
 * removed whatever happens. `onStep` hears each step, the download included.
 */
export async function performRestore(
  config: ResolvedConfig,
  plan: RestorePlan,
  opts: { from?: RestoreSource | null; keys: DecryptionKeys; onStep?: (message: string) => void },
): Promise<RestoreResult> {
  const onStep = opts.onStep ?? (() => {});
  const from = opts.from;
  if (!from) return runRestore(config, plan, onStep);
  onStep(`downloading ${plan.backup.manifest.id} from ${from.destination} (${from.backend.describe})`);
  return withFetched(config, from.backend, plan.backup as ListedBackup, async (local) => {
    await assertDecryptable(local, opts.keys);
    return runRestore(config, { ...plan, backup: local }, onStep);
  });
}
