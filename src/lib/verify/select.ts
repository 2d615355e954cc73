/**
 * Which backups `verify` checks. Pure: given the listings and a selector,
 * return the backups, so the selection rules are unit-tested without disks.
 */
import {
  DATABASE_NAME_RE,
  latestVerification,
  type Manifest,
  nextRuns,
  packStates,
  parseBackupId,
  parseCron,
  type StoredPack,
  storedPages,
  UsageError,
} from "../model/index.ts";
import type { StoredBackup } from "../store/index.ts";

export type VerifySelector = { kind: "latest" } | { kind: "all" } | { kind: "random"; count: number };

export interface VerifyTarget {
  /** A backup id: that backup only. */
  id?: string;
  /** A database name: its backups only. */
  name?: string;
}

/**
 * Classifies verify's positional argument as a backup id or a database name.
 * Anything else (a path such as `../../etc/passwd`) is a UsageError: the
 * argument is never used to build a path.
 */
export function parseVerifyTarget(arg: string | undefined): VerifyTarget {
  if (arg === undefined || arg === "") return {};
  if (parseBackupId(arg)) return { id: arg };
  if (DATABASE_NAME_RE.test(arg)) return { name: arg };
  throw new UsageError(
    `"${arg}" is not a backup id or a database name`,
    "give an id as shown by `sqlbak list` (e.g. app-20261122T050607123Z-1a2b3c4d) or a database name",
  );
}

/** The database an id belongs to (ids start with it). */
export function databaseOfId(id: string): string {
  return parseBackupId(id)!.database;
}

/** Parses `--random`'s optional count: empty means 1. Returns null when it is not a positive integer. */
export function parseRandomCount(raw: string): number | null {
  if (raw === "" || raw === "true") return 1;
  return /^[1-9]\d{0,5}$/.test(raw) ? Number(raw) : null;
}

/** Time of the last verification, or -Infinity for a backup never verified. */
function lastVerifiedMs(b: StoredBackup): number {
  const last = latestVerification(b.manifest);
  return last ? Date.parse(last.at) : Number.NEGATIVE_INFINITY;
}

/**
 * Picks `count` backups at random, favouring those never verified, then those
 * verified longest ago: a random shuffle breaks ties, a stable sort on the last
 * verification time decides the rest.
 */
export function pickRandom<T extends StoredBackup>(backups: T[], count: number, rng: () => number = Math.random): T[] {
  const shuffled = [...backups];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled.sort((a, b) => lastVerifiedMs(a) - lastVerifiedMs(b)).slice(0, count);
}

/**
 * Given the listings in scope (one database, or all), the target and selector,
 * return the backups to verify. An id that is not there is a UsageError whose
 * hint is `listCommand` (a `sqlbak list` reading the same folder or destination).
 */
export function selectForVerify<T extends StoredBackup>(
  listings: { backups: T[] }[],
  target: VerifyTarget,
  sel: VerifySelector,
  rng?: () => number,
  listCommand = "sqlbak list",
): T[] {
  const all = listings.flatMap((l) => l.backups);
  if (target.id) {
    const found = all.find((b) => b.manifest.id === target.id);
    if (!found)
      throw new UsageError(`no backup with id ${target.id}`, `see \`${listCommand}\` for the backups there are`);
    return [found];
  }
  switch (sel.kind) {
    case "all":
      return all;
    case "random":
      return pickRandom(all, sel.count, rng);
    case "latest":
      return listings.flatMap((l) => l.backups.slice(-1));
  }
}

/** Runs of `verify --random` assumed per verify_max_age when the schedule does not say how often verify runs. */
export const DEFAULT_PACK_RUNS = 8;

/**
 * The mean time between runs of cron expression `verify` (the next ten runs
 * after `now`), or null when verify is not scheduled.
 */
export function verifyIntervalMs(verify: string | null, now: Date): number | null {
  if (!verify) return null;
  const runs = nextRuns(parseCron(verify), now, 11);
  if (runs.length < 2) return null;
  return (runs.at(-1)!.getTime() - runs[0]!.getTime()) / (runs.length - 1);
}

/**
 * How many packs of a folder one `verify --random` run checks, beyond those of
 * the backups it verifies: K = ceil(packs / runs), where runs is how many
 * verify runs fit in verify_max_age (floor(max age / interval), at least 1),
 * so that checking the K least recently checked packs each run checks every
 * pack within verify_max_age. Without a scheduled verify, or with
 * verify_max_age 0, runs is DEFAULT_PACK_RUNS.
 */
export function packsPerRun(packCount: number, intervalMs: number | null, maxAgeMs: number): number {
  if (packCount === 0) return 0;
  const runs =
    intervalMs && intervalMs > 0 && maxAgeMs > 0 ? Math.max(1, Math.floor(maxAgeMs / intervalMs)) : DEFAULT_PACK_RUNS;
  return Math.ceil(packCount / runs);
}

/** A pack to check, with the newest listed backup that references it (where the record goes). */
export interface PackToCheck {
  pack: StoredPack;
  newest: string;
}

/**
 * The `k` packs of one folder least recently checked: referenced by a listed
 * backup (`listed`, in id order), not in `skip` (the packs of the backups this
 * run verifies anyway), ordered by the time of the record that last checked
 * them (packStates over `all`, the folder's manifests; never checked first),
 * then by name.
 */
export function pickPacks(
  listed: readonly Manifest[],
  all: readonly Manifest[],
  skip: ReadonlySet<string>,
  k: number,
): PackToCheck[] {
  const candidates = new Map<string, PackToCheck>();
  for (const m of listed)
    for (const pack of storedPages(m)?.packs ?? [])
      if (!skip.has(pack.name)) candidates.set(pack.name, { pack, newest: m.id }); // later ids overwrite: the newest wins
  const states = packStates(all);
  const checkedMs = (name: string) => {
    const at = states.get(name)?.at;
    const ms = at === undefined ? Number.NaN : Date.parse(at);
    return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
  };
  return [...candidates.values()]
    .map((c) => ({ c, ms: checkedMs(c.pack.name) }))
    .sort((a, b) => a.ms - b.ms || (a.c.pack.name < b.c.pack.name ? -1 : a.c.pack.name > b.c.pack.name ? 1 : 0))
    .slice(0, k)
    .map(({ c }) => c);
}
