/**
 * A whole `verify` run: list the backup folder (or a destination), choose the
 * backups, make sure they can be opened, verify each, and send each outcome.
 * What the command prints and its exit code come from the typed result;
 * nothing here prints.
 */
import { type DecryptionKeys, requireDecryptionKeys } from "../codec/index.ts";
import type { ResolvedConfig, ResolvedDestination } from "../config/index.ts";
import { listFrom, withBackend } from "../destinations/index.ts";
import { EXIT, type ExitCode, type Manifest, OutcomeError, type ProgressFn } from "../model/index.ts";
import { sendNotifications } from "../notify/index.ts";
import { type FolderListing, type ListingProblem, listDatabases, type StoredBackup } from "../store/index.ts";
import type { VerifyLevel } from "./check.ts";
import { verifyNotification } from "./notification.ts";
import { type PackSweep, sweepPacks } from "./pack-sweep.ts";
import { runVerifyFrom } from "./remote.ts";
import { runVerify, type VerifyResult } from "./run.ts";
import { databaseOfId, selectForVerify, type VerifySelector, type VerifyTarget } from "./select.ts";

export interface VerifyJobOptions {
  target: VerifyTarget;
  selector: VerifySelector;
  level: VerifyLevel;
  /** The level was asked for: a missing identity then fails the run instead of falling back to checksums. */
  levelGiven: boolean;
  keys: DecryptionKeys;
  /** Verify the copies at this destination instead of backup_dir. */
  from?: ResolvedDestination | null;
  /** A `sqlbak list` reading the same folder or destination: the hint when an id is not there. */
  listCommand: string;
  /** A manifest skipped as unreadable, said before anything is verified. */
  onSkipped?: (problem: ListingProblem) => void;
  /** No identity here for encrypted backups: only checksums are verified (called before the verifications). */
  onChecksumOnly?: () => void;
  /** Each download and each pass over a backup's bytes, as they go (a terminal's progress line). */
  onProgress?: ProgressFn;
}

export interface VerifyJobResult {
  results: VerifyResult[];
  /** The level the backups were verified at (checksum after onChecksumOnly). */
  level: VerifyLevel;
  /** Notifications that could not be delivered (each also in the op log). */
  notifyWarnings: string[];
  /** `--random` in backup_dir: the packs checked beyond those of the chosen backups, per database folder. */
  packs: PackSweep[];
}

/**
 * Verifies the backups `opts` selects, locally or at `opts.from`. A backup
 * whose data file is missing locally is selected like any other and fails its
 * verification. Throws OutcomeError (exit 3) when there is nothing to verify,
 * UsageError for an id that is not there or a key that is missing.
 */
export async function runVerifyJob(config: ResolvedConfig, opts: VerifyJobOptions): Promise<VerifyJobResult> {
  const name = opts.target.name ?? (opts.target.id ? databaseOfId(opts.target.id) : undefined);
  const dest = opts.from;
  const { results, level, files, packs } = dest
    ? await withBackend(dest, async (backend) => {
        const backups = choose(await listFrom(backend, dest, name), `at destination ${dest.name}`, opts);
        const level = levelFor(backups, opts);
        return {
          results: await runVerifyFrom(config, backend, dest, backups, level, opts.keys, opts.onProgress),
          level,
          files: dataPaths(...backups),
          packs: [],
        };
      })
    : await (async () => {
        const listings = (await listDatabases(config, name)).map((l) => withMissing(l));
        const backups = choose(listings, `under ${config.backupDir}`, opts);
        const level = levelFor(backups, opts);
        const results = await runVerify(config, backups, level, undefined, opts.keys, opts.onProgress);
        // --random also covers the folder's packs, a few per run (pack-sweep.ts); listings are re-read
        // so the records just written count and nothing rotated meanwhile is checked.
        const sweep =
          opts.selector.kind === "random" && !opts.target.id
            ? await sweepPacks(config, await listDatabases(config, name), backups)
            : { sweeps: [], results: [] };
        const all = [...results, ...sweep.results];
        return { results: all, level, files: dataPaths(...listings.flatMap((l) => l.backups)), packs: sweep.sweeps };
      })();
  const notes = results.filter((r) => !r.vanished).map((r) => verifyNotification(r, files.get(r.id), dest?.name));
  return { results, level, notifyWarnings: await sendNotifications(config, notes), packs };
}

function choose<T extends StoredBackup>(
  listings: { backups: T[]; problems: ListingProblem[] }[],
  where: string,
  opts: VerifyJobOptions,
): T[] {
  for (const p of listings.flatMap((l) => l.problems)) opts.onSkipped?.(p);
  const backups = selectForVerify(listings, opts.target, opts.selector, undefined, opts.listCommand);
  if (backups.length === 0)
    throw new OutcomeError(
      `nothing to verify: no backups ${where}${opts.target.name ? ` for "${opts.target.name}"` : ""}`,
      EXIT.unhealthy,
    );
  return backups;
}

/**
 * Without an identity and without a level asked for (recipients-only setups,
 * the key kept off this machine), checks what can be checked without
 * decrypting instead of failing every scheduled run.
 */
function levelFor(backups: { manifest: Manifest }[], opts: VerifyJobOptions): VerifyLevel {
  if (opts.level === "checksum") return opts.level;
  try {
    requireDecryptionKeys(
      backups.map((b) => b.manifest),
      opts.keys,
    );
    return opts.level;
  } catch (err) {
    if (
      opts.levelGiven ||
      opts.keys.identities.length > 0 ||
      !backups.some((b) => b.manifest.stored.encryption && "recipients" in b.manifest.stored.encryption)
    )
      throw err;
    opts.onChecksumOnly?.();
    return "checksum";
  }
}

/** The listing with its missing-data backups among the backups (in id order) and out of the skipped problems. */
function withMissing(l: FolderListing): FolderListing {
  const missing = l.missingData ?? [];
  if (missing.length === 0) return l;
  const ids = new Set(missing.map((b) => b.manifest.id));
  return {
    ...l,
    backups: [...l.backups, ...missing].sort((a, b) =>
      a.manifest.id < b.manifest.id ? -1 : a.manifest.id > b.manifest.id ? 1 : 0,
    ),
    problems: l.problems.filter((p) => !ids.has(p.id)),
  };
}

const dataPaths = (...bs: StoredBackup[]) => new Map(bs.map((b) => [b.manifest.id, b.dataPath]));

/**
 * How a verify run ends when it did not end well: exit 3 when a backup failed
 * its checks, else exit 1 when one could not be verified (no verdict on it).
 */
export function verifyJobFailure(results: VerifyResult[]): { message: string; code: ExitCode } | undefined {
  const bad = results.filter((r) => !r.ok && !r.error);
  if (bad.length > 0)
    return { message: `${bad.length} of ${results.length} backups failed verification`, code: EXIT.unhealthy };
  const unverified = results.filter((r) => r.error).length;
  if (unverified > 0)
    return {
      message: `${unverified} of ${results.length} backups could not be verified (no verdict on them: see above)`,
      code: EXIT.failed,
    };
  return undefined;
}
