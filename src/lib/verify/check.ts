/**
 * Proves that a backup restores. `checksum` re-reads and re-validates the
 * manifest and hashes the stored file; `quick` and `full` also decompress it
 * into a temporary file beside the backup (same volume, always removed; a copy
 * left by kill -9 is a stale partial that the next backup cleans up), open it
 * read-only and compare what SQLite sees with what the manifest promises.
 * When backup_dir is full, an unencrypted backup is decompressed into a
 * private (0700) folder under the system temp dir instead, removed after.
 * A pages backup is checked piece by piece instead (pieces.ts: the map and
 * every pack it references), and reassembled (reassemble.ts) where a data
 * file is decompressed. Running them and recording outcomes is run.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { AgeFormatError, readAgeStanzas } from "../../age/index.ts";
import { type DecryptionKeys, NO_KEYS, WrongKeyError } from "../codec/index.ts";
import {
  type ByteProgress,
  describeError,
  type Manifest,
  OperationError,
  type ProgressFn,
  parseBackupId,
  parseManifest,
  storedPages,
} from "../model/index.ts";
import { openManifestMeta, readLocalIdKey } from "../pages/index.ts";
import { checkDatabase, describeDatabase, openReadOnly } from "../snapshot/index.ts";
import { readManifestText, type StoredBackup } from "../store/index.ts";
import { pausePoint, removeQuietly, tempPathFor } from "../system/index.ts";
import { decompressBeside } from "./decompress.ts";
import { checkUnreadPacks, reassembleBeside } from "./extract-pages.ts";
import { hashRegularFile, statRegularFile } from "./files.ts";
import { checkWhileHashing, FileHasher, type FileSums, HASH_BESIDE_MIN_BYTES } from "./hash-beside.ts";
import { checkPagesPieces } from "./pieces.ts";
import { reassembledShaProblem } from "./reassemble.ts";
import { VERIFY_SCRATCH_PREFIX } from "./scratch.ts";

export const VERIFY_LEVELS = ["checksum", "quick", "full"] as const;
export type VerifyLevel = (typeof VERIFY_LEVELS)[number];

const short = (sha: string) => sha.slice(0, 12);

/** Problems inside a manifest that parses but contradicts itself (a sign of hand editing). */
function manifestContradictions(m: Manifest): string[] {
  const problems: string[] = [];
  const expected = m.snapshot.page_size * m.snapshot.page_count;
  if (m.raw.size !== expected)
    problems.push(`manifest is inconsistent: raw size ${m.raw.size} is not page_size × page_count (${expected})`);
  const fromId = parseBackupId(m.id)?.createdAt.getTime();
  if (fromId !== Date.parse(m.created_at)) problems.push("manifest is inconsistent: created_at does not match its id");
  if (m.check?.ok !== true) problems.push("manifest records a failed or missing snapshot check");
  return problems;
}

/** What a verification found: its problems and, for a pages backup whose packs were checked, the bad ones. */
export interface VerifyOutcome {
  problems: string[];
  /** Set once every pack of a pages backup was checked: those missing, of the wrong size or SHA-256, or damaged. */
  badPacks?: string[];
  /**
   * What the manifest's history records instead of `problems`, when that differs: an encrypted
   * backup's record never holds what was found in the decrypted image (table names, hashes).
   */
  recorded?: string[];
}

/**
 * The record of an encrypted backup (one with a meta block) whose decrypted image had
 * `found` problems: the ones before decryption as they are, the rest summed up.
 */
function recordedProblems(m: Manifest, before: string[], found: string[], level: VerifyLevel): string[] | undefined {
  if (!m.meta || found.length === 0) return undefined;
  return [
    ...before,
    `the decrypted image failed verification at ${level} (${found.length} problem(s), not recorded beside ` +
      "an encrypted backup since they may name what it holds: run verify again to see them)",
  ];
}

/**
 * The checksum level: re-reads and re-validates the manifest from disk, checks
 * it does not contradict itself, and hashes the stored file (unless `hash` is
 * false: the caller hashes it while decompressing); for a pages backup, the
 * map and every pack it references (pieces.ts). Returns the fresh manifest
 * (null if it no longer parses) and the problems found. With `keys`, the
 * manifest comes back with its meta block opened (WrongKeyError when they do not open it).
 * `onProgress` hears the stored bytes hashed so far.
 */
export async function checkStoredFile(
  b: StoredBackup,
  opts: { hash?: boolean; keys?: DecryptionKeys; onProgress?: ByteProgress } = {},
): Promise<VerifyOutcome & { manifest: Manifest | null }> {
  let m: Manifest;
  try {
    m = parseManifest(readManifestText(b.manifestPath), basename(b.manifestPath), b.manifest.database);
    // With keys, an encrypted backup's meta block is opened: what reassembly and the SQLite checks compare with.
    if (opts.keys) m = await openManifestMeta(m, opts.keys, readLocalIdKey(dirname(b.manifestPath)));
  } catch (err) {
    if (err instanceof WrongKeyError) throw err;
    return { manifest: null, problems: [describeError(err)] };
  }
  const problems = manifestContradictions(m);
  const pages = storedPages(m);
  if (pages) {
    const pieces = await checkPagesPieces(dirname(b.dataPath), pages, opts.hash !== false, opts.onProgress);
    problems.push(...pieces.problems);
    if (problems.length === 0 && pages.encryption)
      problems.push(...(await ageHeaderProblems(join(dirname(b.dataPath), pages.file), pages.encryption)));
    return { manifest: m, problems, badPacks: pieces.badPacks };
  }
  const sums =
    opts.hash === false ? statRegularFile(b.dataPath) : await hashRegularFile(b.dataPath, undefined, opts.onProgress);
  if (typeof sums === "string") problems.push(sums);
  else if (sums.size !== m.stored.size)
    problems.push(`stored file is ${sums.size} bytes, manifest says ${m.stored.size} (truncated or replaced)`);
  else if (sums.sha256 !== undefined && sums.sha256 !== m.stored.sha256)
    problems.push(
      `stored file sha256 ${short(sums.sha256)}… ` +
        `does not match the manifest's ${short(m.stored.sha256)}… (damaged or changed)`,
    );
  if (problems.length === 0 && m.stored.encryption)
    problems.push(...(await ageHeaderProblems(b.dataPath, m.stored.encryption)));
  return { manifest: m, problems };
}

/** What the age header shows without a key: a valid header, wrapping the file key for what the manifest says. */
async function ageHeaderProblems(path: string, enc: NonNullable<Manifest["stored"]["encryption"]>): Promise<string[]> {
  let stanzas: string[][];
  try {
    stanzas = await readAgeStanzas(path);
  } catch (err) {
    if (err instanceof AgeFormatError) return [`stored file is not a valid age file: ${err.message}`];
    throw err;
  }
  const want = "recipients" in enc ? { type: "X25519", count: enc.recipients.length } : { type: "scrypt", count: 1 };
  const got = stanzas.filter((a) => a[0] === want.type).length;
  if (got !== want.count || got !== stanzas.length)
    return [
      `age header wraps the file key ${stanzas.length} time(s) (${got} ${want.type}), ` +
        `manifest says ${want.count} ${want.type}`,
    ];
  return [];
}

function compareFacts(m: Manifest, facts: ReturnType<typeof describeDatabase>): string[] {
  const problems: string[] = [];
  const snap = m.snapshot;
  // Only ever called on a manifest whose meta block is opened (verifyBackup, restore), so the facts are there.
  if (snap.tables === undefined) return ["the manifest's encrypted meta block was not opened: its facts are unknown"];
  const tables = snap.tables;
  if (facts.page_size !== snap.page_size)
    problems.push(`page size is ${facts.page_size}, manifest says ${snap.page_size}`);
  if (facts.page_count !== snap.page_count)
    problems.push(`page count is ${facts.page_count}, manifest says ${snap.page_count}`);
  if (facts.user_version !== snap.user_version)
    problems.push(`user_version is ${facts.user_version}, manifest says ${snap.user_version}`);
  if (facts.schema_sha256 !== snap.schema_sha256) problems.push("schema hash does not match the manifest");
  for (const name of new Set([...Object.keys(tables), ...Object.keys(facts.tables)])) {
    const want = tables[name];
    const got = facts.tables[name];
    if (want === undefined) problems.push(`table ${name} is not in the manifest`);
    else if (got === undefined) problems.push(`table ${name} from the manifest is missing`);
    else if (want !== got) problems.push(`table ${name} has ${got} rows, manifest says ${want}`);
  }
  return problems;
}

/**
 * Opens a decompressed image read-only and checks it: quick_check (quick) or
 * integrity_check (full), foreign_key_check, each probe query (must run without
 * error), and page geometry, schema hash and row counts against the manifest.
 */
export function inspectImage(path: string, m: Manifest, level: "quick" | "full", probes: string[]): string[] {
  const problems: string[] = [];
  let db;
  try {
    db = openReadOnly(path);
  } catch (err) {
    return [`cannot open the decompressed copy: ${describeError(err)}`];
  }
  try {
    const check = checkDatabase(db, level);
    if (!check.ok) problems.push(`${level === "full" ? "integrity_check" : "quick_check"}: ${check.result}`);
    const fk = db.query("PRAGMA foreign_key_check").values();
    if (fk.length > 0)
      problems.push(`foreign_key_check: ${fk.length} violation(s), first in table ${String(fk[0]?.[0])}`);
    problems.push(...compareFacts(m, describeDatabase(db)));
    for (const probe of probes) {
      try {
        db.query(probe).all();
      } catch (err) {
        problems.push(`probe ${JSON.stringify(probe)} failed: ${describeError(err)}`);
      }
    }
  } catch (err) {
    problems.push(`reading the decompressed copy failed: ${describeError(err)}`);
  } finally {
    db.close();
  }
  return problems;
}

/** Removes a temporary image and any sidecar SQLite may have created beside it. */
export function removeImage(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) removeQuietly(path + suffix);
}

/**
 * Runs every check of `level` on one backup; never throws for a bad backup (WrongKeyError for a bad key).
 * Stored bytes are hashed once, while they are decompressed (hashed again on their own only when something
 * fails, so the problem reported is the checksum stage's, as when it ran first), and a large image's SHA-256
 * is taken on a worker beside its SQLite check (hash-beside.ts). `onProgress` hears each pass over its bytes,
 * labelled `<database>: verifying <id> (<pass>)`.
 */
export async function verifyBackup(
  b: StoredBackup,
  level: VerifyLevel,
  probes: string[],
  keys: DecryptionKeys = NO_KEYS,
  onProgress?: ProgressFn,
): Promise<VerifyOutcome> {
  const pass = (what: string) => {
    const label = `${b.manifest.database}: verifying ${b.manifest.id} (${what})`;
    return onProgress && ((done: number, total: number) => onProgress(label, done, total));
  };
  const { manifest, problems, badPacks } = await checkStoredFile(
    b,
    level === "checksum" ? { onProgress: pass("checksum") } : { keys, hash: false },
  );
  if (!manifest || problems.length > 0 || level === "checksum") return { problems, badPacks };
  const pages = storedPages(manifest);
  // Only where the image can be left unhashed: a pages backup, or a data file of plain zstd frames (an encrypted or
  // gzip one is decompressed as one stream, which hashes the image itself).
  const unhashed = pages !== null || (manifest.stored.compression === "zstd" && !manifest.stored.encryption);
  const hasher = unhashed && manifest.raw.size >= HASH_BESIDE_MIN_BYTES ? new FileHasher() : null;
  let rawHashed = true;
  let packsRead: number[] = [];
  const extract = async (dest: string) => {
    if (pages) {
      const r = await reassembleBeside(b, manifest, dest, keys, badPacks ?? [], hasher === null, pass("reassembling"));
      [rawHashed, packsRead] = [r.rawHashed, r.packsRead];
      return r.problems;
    }
    const r = await decompressBeside(b, manifest, dest, keys, hasher === null, { onProgress: pass("decompressing") });
    rawHashed = r.rawHashed;
    return r.problems;
  };
  // The checksum stage, run after the fact: when it fails, it is the answer (the first failing stage).
  const checksumStage = async (): Promise<VerifyOutcome | null> => {
    const hashed = await checkStoredFile(b, { keys });
    return hashed.problems.length > 0 ? { problems: hashed.problems, badPacks: hashed.badPacks } : null;
  };
  let temp = tempPathFor(b.dataPath);
  let scratch: string | undefined;
  try {
    let found: string[];
    try {
      found = await extract(temp);
    } catch (err) {
      // A full backup_dir must not stop verify: an unencrypted backup is checked in a private
      // folder under the system temp dir instead. Plaintext of an encrypted one never leaves backup_dir.
      if (!isDiskFull(err) || manifest.stored.encryption) throw err;
      removeImage(temp);
      scratch = mkdtempSync(join(tmpdir(), VERIFY_SCRATCH_PREFIX));
      temp = join(scratch, basename(temp));
      found = await extract(temp);
    }
    if (found.length > 0) {
      const failed = await checksumStage();
      if (failed) return failed;
    } else if (pages) {
      // Reassembly read (and checked) the packs the map references; any other listed pack is checked here.
      const unread = pages.packs.filter((_, i) => !packsRead.includes(i));
      const unreadProblems = await checkUnreadPacks(dirname(b.dataPath), unread);
      if (unreadProblems.problems.length > 0) return unreadProblems;
    }
    problems.push(...found);
    pausePoint("verify:decompressed");
    // A pages image exists only once it was fully written; a file backup's, once it decompressed.
    const image = pages ? found.length === 0 : !found.some((p) => /^(decrypting and )?decompressing failed/.test(p));
    const inspect = () => inspectImage(temp, manifest, level, probes);
    if (image && (rawHashed || !hasher)) problems.push(...inspect());
    else if (image && hasher) {
      const beside = await checkWhileHashing(temp, hasher, inspect);
      const mismatch = rawProblem(manifest, beside.sums, pages !== null);
      // A pages image that is not the recorded one is not checked further (reassembly refuses it); the checksum
      // stage still comes first.
      if (mismatch && pages) {
        const failed = await checksumStage();
        if (failed) return failed;
        return { problems: [mismatch], badPacks };
      }
      problems.push(...(mismatch ? [mismatch] : []), ...beside.problems);
    }
  } finally {
    hasher?.close();
    removeImage(temp);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  const recorded = recordedProblems(manifest, [], problems, level);
  return { problems, badPacks, ...(recorded ? { recorded } : {}) };
}

/** An image's size and SHA-256 against the manifest: the problem, in the words of its format's check, or null. */
function rawProblem(m: Manifest, sums: FileSums, pages: boolean): string | null {
  if (pages) return sums.sha256 === m.raw.sha256 ? null : reassembledShaProblem(sums.sha256, m);
  if (sums.size !== m.raw.size) return `decompressed image is ${sums.size} bytes, manifest says ${m.raw.size}`;
  if (sums.sha256 !== m.raw.sha256)
    return `decompressed image sha256 ${short(sums.sha256)}… does not match the manifest's ${short(m.raw.sha256 ?? "")}…`;
  return null;
}

/** A temporary copy that could not be written for want of space (writeFailure keeps the errno as cause). */
function isDiskFull(err: unknown): boolean {
  const code = (err as { cause?: NodeJS.ErrnoException }).cause?.code;
  return err instanceof OperationError && (code === "ENOSPC" || code === "EDQUOT");
}
