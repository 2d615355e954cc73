/**
 * Restoring a chosen backup, local or at a destination: the key is checked
 * before anything is asked or downloaded, and a remote backup is downloaded
 * into a staging folder under backup_dir, checked again, then restored like a
 * local one.
 */
import { assertDecryptable, type DecryptionKeys, requireDecryptionKeys } from "../codec/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import { withFetched } from "../destinations/index.ts";
import type { ProgressFn } from "../model/index.ts";
import { currentUser, makeNotification, sendNotifications } from "../notify/index.ts";
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
 * removed whatever happens. `onStep` hears each step, the download included;
 * `onProgress` the download, the decompression and the pre-restore backup as they go.
 * A restore that worked sends the `restore` event (its delivery failures in `notifyWarnings`).
 */
export async function performRestore(
  config: ResolvedConfig,
  plan: RestorePlan,
  opts: {
    from?: RestoreSource | null;
    keys: DecryptionKeys;
    onStep?: (message: string) => void;
    onProgress?: ProgressFn;
  },
): Promise<RestoreResult> {
  const onStep = opts.onStep ?? (() => {});
  const events = { onStep, onProgress: opts.onProgress };
  const from = opts.from;
  const result = !from
    ? await runRestore(config, plan, events)
    : await (async () => {
        onStep(`downloading ${plan.backup.manifest.id} from ${from.destination} (${from.backend.describe})`);
        return withFetched(
          config,
          from.backend,
          plan.backup as ListedBackup,
          async (local) => {
            await assertDecryptable(local, opts.keys);
            return runRestore(config, { ...plan, backup: local }, events);
          },
          { onProgress: opts.onProgress, destination: from.destination },
        );
      })();
  result.notifyWarnings = await sendNotifications(config, [restoreNotification(result, from?.destination)]);
  return result;
}

/** `restore`: who restored which backup, from where, to where, and where the safety copy is. */
function restoreNotification(r: RestoreResult, destination: string | undefined) {
  const user = currentUser();
  return makeNotification({
    event: "restore",
    title: `sqlbak: ${r.database} restored from ${r.id}`,
    message:
      `${user} restored backup ${r.id} of ${r.database}${destination ? ` from destination ${destination}` : ""} ` +
      `to ${r.target}; ` +
      (r.preRestoreFile
        ? `the previous database was kept beside it as ${r.preRestoreFile} (undo: ${r.undo})`
        : r.preRestoreId
          ? `the previous database was saved as pre-restore backup ${r.preRestoreId} (undo: ${r.undo})`
          : "nothing was there before, so there is no safety copy"),
    database: r.database,
    id: r.id,
    destination,
    target: r.target,
    pre_restore_id: r.preRestoreId ?? undefined,
    pre_restore_file: r.preRestoreFile ?? undefined,
    undo: r.undo ?? undefined,
    user,
    duration_ms: r.durationMs,
  });
}
