/**
 * Kept copies (pre-restore safety copies that are the replaced file itself,
 * `<name>.pre-restore-<UTC time>` beside the database; restore/kept.ts makes
 * them): finding them from a database's path, and their rotation by
 * `keep_pre_restore`, newest kept. They live beside the database, not in the
 * backup folder, so `list`, `stats` and `rotate` look for them there.
 * See docs/restore.md#the-pre-restore-safety-copy and docs/retention.md.
 */
import { readdirSync, realpathSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type ResolvedConfig, UNLIMITED } from "../config/index.ts";
import { fsyncDir } from "../system/index.ts";

export const KEPT_INFIX = ".pre-restore-";
/** What SQLite may have left beside a kept copy opened since: removed with it. */
export const KEPT_SIDECARS = ["-wal", "-shm", "-journal"];
/** The kind `list`, `stats` and `rotate` show kept copies as. */
export const KEPT_KIND = "pre-restore-file";

export interface KeptCopy {
  /** Absolute path of the kept copy. */
  path: string;
  /** The database file it was replaced from (beside it). */
  target: string;
  /** When it was kept: the UTC time in its name. */
  created_at: string;
  /** Its size in bytes (without sidecars). */
  size: number;
}

/** `20261203T210633123Z`: a kept copy's time, sortable as text. */
export function keptStamp(now: Date): string {
  return now.toISOString().replace(/[-:.]/g, "");
}

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/;

function keptPattern(target: string): RegExp {
  const base = basename(target).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${base}\\.pre-restore-(\\d{8}T\\d{9}Z)$`);
}

/** The file restore replaces for a database at `path`: symlinks resolved, as restore resolves them. */
export function keptTargetOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The kept copies of `target` in its folder, oldest first; none when the folder cannot be read. */
export function listKeptCopies(target: string): string[] {
  const re = keptPattern(target);
  let names: string[];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return [];
  }
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => join(dirname(target), n));
}

/** The kept copies of the database at `path`, with time and size, newest first (a vanished one is left out). */
export function keptCopiesOf(path: string): KeptCopy[] {
  const target = keptTargetOf(path);
  const re = keptPattern(target);
  const out: KeptCopy[] = [];
  for (const p of listKeptCopies(target)) {
    const m = STAMP.exec(re.exec(basename(p))![1]!)!;
    let size: number;
    try {
      size = statSync(p).size;
    } catch {
      continue;
    }
    const created = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`;
    out.push({ path: p, target, created_at: created, size });
  }
  return out.reverse();
}

/**
 * The rule: of `copies` (newest first) the newest `keep` stay (all with
 * `"unlimited"`), and so does every path in `protect` (the copy a restore has
 * just kept); the others go. Never anything else removes a kept copy.
 */
export function planKeptRotation(
  copies: KeptCopy[],
  keep: number,
  protect: string[] = [],
): { copy: KeptCopy; keep: boolean }[] {
  return copies.map((copy, i) => ({
    copy,
    keep: keep === UNLIMITED || i < keep || protect.includes(copy.path),
  }));
}

/** Removes a kept copy and its sidecars; returns the paths removed. Throws when the copy itself cannot be removed. */
export function removeKeptCopy(path: string): string[] {
  const removed: string[] = [];
  for (const s of ["", ...KEPT_SIDECARS]) {
    try {
      unlinkSync(path + s);
      removed.push(path + s);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" && s === "") throw err;
    }
  }
  return removed;
}

/**
 * After a restore that kept `protect`: applies the rule to the kept copies of
 * `target` and removes the others with their sidecars (the folder fsynced).
 * Returns the removed paths.
 */
export function rotateKeptCopies(target: string, keep: number, protect: string[] = []): string[] {
  const removed: string[] = [];
  for (const d of planKeptRotation(keptCopiesOf(target), keep, protect))
    if (!d.keep) {
      try {
        removed.push(...removeKeptCopy(d.copy.path));
      } catch {
        // Left for the next rotation, which reports it.
      }
    }
  if (removed.length > 0) fsyncDir(dirname(target));
  return removed;
}

/** The kept copies of each configured database (or of `name` only), oldest first per database. */
export function configuredKeptCopies(config: ResolvedConfig, name?: string): (KeptCopy & { database: string })[] {
  return config.databases
    .filter((d) => name === undefined || d.name === name)
    .flatMap((d) =>
      keptCopiesOf(d.path)
        .map((c) => ({ ...c, database: d.name }))
        .reverse(),
    );
}
