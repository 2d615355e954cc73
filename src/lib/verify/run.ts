/**
 * Running verifications: each backup in turn, its outcome appended to the
 * manifest's history under the database's lock and to the operation log.
 * The checks themselves are in check.ts.
 */
import { lstatSync } from "node:fs";
import { basename, dirname } from "node:path";
import { type DecryptionKeys, NO_KEYS, WrongKeyError } from "../codec/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import {
  describeError,
  LockedError,
  type Manifest,
  type ProgressFn,
  parseManifest,
  serializeManifest,
  storedPages,
  trimVerifications,
  type Verification,
} from "../model/index.ts";
import { appendOpLog, missingDataProblem, readManifestText, type StoredBackup } from "../store/index.ts";
import { acquireLock, writeFileAtomic } from "../system/index.ts";
import { type VerifyLevel, type VerifyOutcome, verifyBackup } from "./check.ts";

/**
 * History kept per manifest: about a year of weekly checks, while the manifest stays a few KiB
 * (more only while older records still decide a pack's state: trimVerifications).
 */
export const MAX_VERIFICATIONS = 50;

export interface VerifyResult {
  id: string;
  database: string;
  level: VerifyLevel;
  ok: boolean;
  problems: string[];
  durationMs: number;
  /** Set when the outcome could not be appended to the manifest (the verification itself stands). */
  warning?: string;
  /** The backup was removed (rotated) while it was being verified; not a failure. */
  vanished?: boolean;
  /** It could not be verified (the key does not open it): not recorded, and no verdict on the backup. */
  error?: string;
  /** A pages backup whose packs were checked: the packs that failed (named in `problems` too). */
  badPacks?: string[];
  /** What the manifest's history records instead of `problems` (an encrypted backup's: see VerifyOutcome). */
  recorded?: string[];
}

/**
 * Appends `v` to the backup's manifest history (capped at MAX_VERIFICATIONS),
 * atomically and under the database's lock, re-reading the manifest first so a
 * concurrent append is not lost. Returns "gone" if the backup was removed.
 */
export async function recordVerification(
  config: ResolvedConfig,
  b: StoredBackup,
  v: Verification,
): Promise<"recorded" | "gone" | string> {
  const database = b.manifest.database;
  let lock;
  try {
    lock = await acquireLock(dirname(b.manifestPath), { database, command: "verify" }, config.lockTimeoutMs);
  } catch (err) {
    // Locked (exit 4) is the run's answer; a lock that cannot be taken at all (a read-only folder)
    // only loses the record.
    if (err instanceof LockedError) throw err;
    return `outcome not recorded in ${b.manifestPath}: ${describeError(err)}`;
  }
  try {
    let text: string;
    try {
      text = readManifestText(b.manifestPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
      throw err;
    }
    const m = parseManifest(text, basename(b.manifestPath), database);
    const packs = storedPages(m)?.packs.map((p) => p.name) ?? [];
    m.verifications = trimVerifications([...m.verifications, v], packs, MAX_VERIFICATIONS);
    writeFileAtomic(b.manifestPath, serializeManifest(m));
    return "recorded";
  } catch (err) {
    return `outcome not recorded in ${b.manifestPath}: ${describeError(err)}`;
  } finally {
    lock.release();
  }
}

/** The configured probe queries of a database (none for one not in the config). */
export function probesFor(config: ResolvedConfig, database: string): string[] {
  return config.databases.find((d) => d.name === database)?.probes ?? [];
}

/**
 * Runs `check` on one backup and times it. A failure for which `noVerdict`
 * returns a reason (a wrong key, a full disk, a failed download: nothing said
 * about the backup) becomes the result's `error`; any other failure throws.
 */
export async function attemptVerify(
  b: { manifest: Manifest },
  level: VerifyLevel,
  check: () => Promise<VerifyOutcome>,
  noVerdict: (err: unknown) => string | null,
): Promise<VerifyResult> {
  const started = Date.now();
  let problems: string[];
  let badPacks: string[] | undefined;
  let recorded: string[] | undefined;
  let error: string | undefined;
  try {
    ({ problems, badPacks, recorded } = await check());
  } catch (err) {
    const reason = noVerdict(err);
    if (reason === null) throw err;
    [problems, error] = [[reason], reason];
  }
  return {
    id: b.manifest.id,
    database: b.manifest.database,
    level,
    ok: problems.length === 0,
    problems,
    durationMs: Date.now() - started,
    error,
    ...(badPacks ? { badPacks } : {}),
    ...(recorded ? { recorded } : {}),
  };
}

/**
 * The op-log line of one verification (`destination` for a remote copy); returns a warning when
 * it cannot be written.
 */
export function logVerification(config: ResolvedConfig, r: VerifyResult, destination?: string): string | null {
  return appendOpLog(config.logFile, {
    op: "verify",
    destination,
    database: r.database,
    id: r.id,
    ok: r.ok,
    level: r.level,
    problems: r.problems,
    duration_ms: r.durationMs,
    error: r.problems.join("; ") || undefined,
  });
}

function dataFileGone(b: StoredBackup): boolean {
  try {
    lstatSync(b.dataPath);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
}

/**
 * Verifies each backup in turn, records each outcome in its manifest and the
 * operation log, and returns one result per backup. Only a lock timeout, or a
 * temporary copy that cannot be written (a full disk), throws. A backup the
 * keys cannot decrypt gets `error` and no recorded outcome. `onProgress`
 * hears each pass over a backup's bytes (verifyBackup).
 */
export async function runVerify(
  config: ResolvedConfig,
  backups: StoredBackup[],
  level: VerifyLevel,
  now = () => new Date(),
  keys: DecryptionKeys = NO_KEYS,
  onProgress?: ProgressFn,
): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const b of backups) {
    const probes = probesFor(config, b.manifest.database);
    // A backup whose data file is gone is a failed verification (recorded like any other), not a skip.
    const check = () =>
      dataFileGone(b)
        ? Promise.resolve({ problems: [missingDataProblem(b.manifest)] })
        : verifyBackup(b, level, probes, keys, onProgress);
    const result = await attemptVerify(b, level, check, (err) => (err instanceof WrongKeyError ? err.message : null));
    // A wrong key says nothing about the backup: nothing goes into its history.
    const recorded = result.error
      ? "not-recorded"
      : await recordVerification(config, b, {
          at: now().toISOString(),
          level,
          ok: result.ok,
          problems: result.recorded ?? result.problems,
          ...(result.badPacks ? { bad_packs: result.badPacks } : {}),
        });
    if (recorded === "gone") Object.assign(result, { vanished: true, ok: true, problems: [] });
    else if (recorded !== "recorded" && recorded !== "not-recorded") result.warning = recorded;
    const logError = logVerification(config, result);
    if (logError) result.warning = result.warning ? `${result.warning}; ${logError}` : logError;
    results.push(result);
  }
  return results;
}
