/**
 * The JSON manifest written beside every backup. A backup exists only when its
 * manifest does; the manifest is written last. Parsing re-checks everything a
 * later step relies on (names, sizes, hashes), so an edited or planted manifest
 * is rejected instead of trusted.
 */
import { AgeKeyError, parseRecipient } from "../../age/index.ts";
import { type CheckLevel, COMPRESSIONS, type Compression } from "./constants.ts";
import {
  dataFileName,
  ENCRYPTED_EXTENSION,
  manifestFileName,
  mapFileName,
  PACK_FILE_RE,
  packStartedAt,
  parseBackupId,
} from "./names.ts";

export const MANIFEST_FORMAT = 1;
export const KINDS = ["scheduled", "manual", "pre-restore"] as const;
export type BackupKind = (typeof KINDS)[number];
export const SNAPSHOT_METHODS = ["vacuum_into", "pages"] as const;
export type SnapshotMethod = (typeof SNAPSHOT_METHODS)[number];
/** Manifests far larger than this are not ours (a real one is a few KiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * A real manifest nests 3 deep; far deeper is not ours (and JSON.stringify would overflow the stack writing it back).
 */
export const MAX_MANIFEST_DEPTH = 16;

/**
 * How the stored file is encrypted (null: it is not). The file is an age file
 * of the compressed stream; recipients are the public keys it was encrypted
 * to, or the passphrase came from the named environment variable (scrypt).
 */
export type ManifestEncryption =
  | { type: "age"; recipients: string[] }
  | { type: "age"; passphrase_env: string; scrypt_log_n: number };

/** How a backup is stored: one self-contained data file (absent in older manifests), or a page map over packs. */
export const STORED_FORMATS = ["file", "pages"] as const;
export type StoredFormat = (typeof STORED_FORMATS)[number];
/** A pages backup references at most this many packs. */
export const MAX_PACKS = 65_536;

/** One pack a pages backup references: its stored bytes, and whether this backup wrote it. */
export interface StoredPack {
  name: string;
  size: number;
  sha256: string;
  new?: boolean;
}

interface StoredCommon {
  /** The data file, or the map of a pages backup; size and sha256 are its stored bytes. */
  file: string;
  size: number;
  sha256: string;
  compression: Compression;
  compression_level: number;
  encryption: ManifestEncryption | null;
}

/** Today's self-contained data file (`format` is absent in manifests written before pages backups). */
export interface StoredFile extends StoredCommon {
  format?: "file";
}

/** An incremental backup: `file` is its map `<id>.map.zst[.age]`, which places pages held in `packs`. */
export interface StoredPages extends StoredCommon {
  format: "pages";
  compression: "zstd";
  packs: StoredPack[];
  page_size: number;
  pages_per_frame: number;
}

export interface Verification {
  at: string;
  level: CheckLevel | "checksum";
  ok: boolean;
  problems: string[];
  /** A pages backup whose packs this verification checked: the packs that failed (absent in older records). */
  bad_packs?: string[];
  /**
   * Set on a pack record (`verify --random` checking packs of the folder): the packs it checked,
   * at checksum level. Such a record speaks for those packs only, never for the backup itself.
   */
  packs_checked?: string[];
}

/** The backup's own latest verification: the newest record that is not a pack record (`packs_checked`). */
export function latestVerification(m: { verifications: readonly Verification[] }): Verification | undefined {
  for (let i = m.verifications.length - 1; i >= 0; i--)
    if (m.verifications[i]!.packs_checked === undefined) return m.verifications[i];
  return undefined;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  id: string;
  database: string;
  source: string;
  /** Permission bits and owner of the source file when it was backed up (absent in older manifests). */
  source_stat?: { mode: number; uid: number; gid: number };
  created_at: string;
  kind: BackupKind;
  tags: string[];
  snapshot: {
    method: SnapshotMethod;
    sqlite_version: string;
    page_size: number;
    page_count: number;
    journal_mode: string;
    user_version: number;
    schema_sha256: string;
    tables: Record<string, number>;
    /**
     * Page-level snapshots (absent in older manifests and for `vacuum`): WAL frames the
     * state was read from (1..the last commit; 0 when the database file alone held it)…
     */
    wal_frames?: number;
    /** …and the size of the `-wal` file when the state was pinned (0: none). */
    wal_bytes?: number;
  };
  raw: { size: number; sha256: string };
  stored: StoredFile | StoredPages;
  /**
   * `reused_from` (pages backups): the check did not run because the image equals, byte for
   * byte, that of this earlier backup of the same database, whose check and facts are copied.
   */
  check: { level: CheckLevel; ok: boolean; result: string; reused_from?: string };
  duration_ms: number;
  host: string;
  sqlbak_version: string;
  verifications: Verification[];
  /**
   * Set when this backup is far smaller than the one before it
   * (or empty while that was not); see src/lib/model/shrink.ts.
   */
  shrunk?: { previous_id: string; previous_size: number };
  /** Taken with `backup --accept-shrink`: the shrink is intended, retention and health stop guarding against it. */
  shrink_accepted?: boolean;
}

/** How `m` is stored ("file" when its manifest predates pages backups). */
export function storedFormat(m: Manifest): StoredFormat {
  return m.stored.format ?? "file";
}

/** The pages section of `m`, or null for a self-contained data file. */
export function storedPages(m: Manifest): StoredPages | null {
  return m.stored.format === "pages" ? m.stored : null;
}

export function serializeManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

const SHA256_RE = /^[0-9a-f]{64}$/;

/**
 * True when `v` nests objects/arrays more than `levels` deep; stops at that depth, so it is cheap and never overflows.
 */
function nestsDeeper(v: unknown, levels: number): boolean {
  if (typeof v !== "object" || v === null) return false;
  if (levels === 0) return true;
  for (const x of Object.values(v)) if (nestsDeeper(x, levels - 1)) return true;
  return false;
}

/** Null when `e` is a valid encryption section, else what is wrong with it. */
function encryptionProblem(e: unknown): string | null {
  if (e === null) return null;
  const x = e as Record<string, unknown>;
  if (typeof e !== "object" || Array.isArray(e) || x.type !== "age") return "has an unknown encryption";
  if ("recipients" in x) {
    if (!Array.isArray(x.recipients) || x.recipients.length === 0) return "has an invalid recipient list";
    for (const r of x.recipients) {
      try {
        parseRecipient(String(r));
      } catch (err) {
        if (err instanceof AgeKeyError) return "lists an invalid age recipient";
        throw err;
      }
    }
    return null;
  }
  return typeof x.passphrase_env === "string" && isCount(x.scrypt_log_n) ? null : "has an invalid encryption section";
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isOptionalCount(v: unknown): boolean {
  return v === undefined || isCount(v);
}

function isPageSize(v: unknown): boolean {
  return isCount(v) && v >= 512 && v <= 65536 && (v & (v - 1)) === 0;
}

/**
 * Null when the pages fields of `s` (whose map name and compression are checked already) are valid, else what is
 * wrong.
 */
function pagesProblem(s: StoredPages): string | null {
  if (!isPageSize(s.page_size)) return "has an invalid stored page_size";
  if (!isCount(s.pages_per_frame) || s.pages_per_frame < 1) return "has an invalid stored pages_per_frame";
  if (!Array.isArray(s.packs)) return "has an invalid pack list";
  if (s.packs.length > MAX_PACKS) return `lists more than ${MAX_PACKS} packs`;
  const encrypted = Boolean(s.encryption);
  const seen = new Set<string>();
  for (const [i, p] of s.packs.entries()) {
    if (typeof p !== "object" || p === null || Array.isArray(p)) return `has an invalid pack entry at index ${i}`;
    // The name must be a pack's own name: never a path, never another kind of file.
    const m = typeof p.name === "string" ? PACK_FILE_RE.exec(p.name) : null;
    if (!m || !packStartedAt(p.name)) return `names a pack that does not belong to it at index ${i}`;
    if ((m[3] === ENCRYPTED_EXTENSION) !== encrypted) return `names pack ${p.name}, encrypted unlike its map`;
    if (seen.has(p.name)) return `lists pack ${p.name} twice`;
    seen.add(p.name);
    if (!isCount(p.size) || typeof p.sha256 !== "string" || !SHA256_RE.test(p.sha256))
      return `has an invalid size or sha256 for pack ${p.name}`;
    if (p.new !== undefined && typeof p.new !== "boolean") return `has an invalid new flag for pack ${p.name}`;
  }
  return null;
}

/**
 * Given a manifest's text and the file name and folder it was found under,
 * return the Manifest or throw an Error saying what is wrong with it.
 */
export function parseManifest(text: string, fileName: string, folderDatabase: string): Manifest {
  if (text.length > MAX_MANIFEST_BYTES) throw new Error("manifest is too large");
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new Error("manifest is not valid JSON");
  }
  const fail = (what: string): never => {
    throw new Error(`manifest ${what}`);
  };
  if (typeof m !== "object" || m === null || Array.isArray(m)) fail("is not a JSON object");
  if (nestsDeeper(m, MAX_MANIFEST_DEPTH)) fail("is nested too deeply");
  if (m.format !== MANIFEST_FORMAT) fail(`has unsupported format ${JSON.stringify(m.format)}`);
  const parsed = typeof m.id === "string" ? parseBackupId(m.id) : null;
  if (!parsed) fail("has an invalid id");
  if (manifestFileName(m.id) !== fileName) fail(`id ${m.id} does not match its file name`);
  if (m.database !== folderDatabase || parsed!.database !== folderDatabase)
    fail(`belongs to database ${JSON.stringify(m.database)}, not "${folderDatabase}"`);
  if (typeof m.created_at !== "string" || Number.isNaN(Date.parse(m.created_at))) fail("has an invalid created_at");
  if (!KINDS.includes(m.kind)) fail(`has an unknown kind ${JSON.stringify(m.kind)}`);
  if (!Array.isArray(m.tags) || m.tags.some((t) => typeof t !== "string")) fail("has invalid tags");
  const s = m.stored;
  if (typeof s !== "object" || s === null) fail("has no stored section");
  if (!COMPRESSIONS.includes(s.compression)) fail(`has an unknown compression ${JSON.stringify(s.compression)}`);
  const encProblem = encryptionProblem(s.encryption ?? null);
  if (encProblem) fail(encProblem);
  const format = s.format ?? "file";
  if (!STORED_FORMATS.includes(format)) fail(`has an unknown stored format ${JSON.stringify(s.format)}`);
  if (s.format === "pages") {
    const compression: Compression = s.compression; // as read, before it is known to be "zstd"
    if (compression !== "zstd") fail(`stores pages with compression ${JSON.stringify(compression)}, not "zstd"`);
    if (s.file !== mapFileName(m.id, Boolean(s.encryption))) fail("names a map file that does not belong to it");
    const problem = pagesProblem(s);
    if (problem) fail(problem);
  } else if (s.file !== dataFileName(m.id, s.compression, Boolean(s.encryption)))
    fail("names a data file that does not belong to it");
  if (!isCount(s.size) || typeof s.sha256 !== "string" || !SHA256_RE.test(s.sha256))
    fail("has an invalid stored size or sha256");
  if (typeof m.raw !== "object" || m.raw === null || !isCount(m.raw.size) || !SHA256_RE.test(String(m.raw.sha256)))
    fail("has an invalid raw size or sha256");
  const snap = m.snapshot;
  if (typeof snap !== "object" || snap === null || !isCount(snap.page_count) || !isCount(snap.page_size))
    fail("has an invalid snapshot section");
  if (typeof snap.tables !== "object" || snap.tables === null || Object.values(snap.tables).some((n) => !isCount(n)))
    fail("has invalid table counts");
  if (!isOptionalCount(snap.wal_frames) || !isOptionalCount(snap.wal_bytes))
    fail("has an invalid wal_frames or wal_bytes");
  const reusedFrom = (m.check as { reused_from?: unknown } | null)?.reused_from;
  if (
    reusedFrom !== undefined &&
    (typeof reusedFrom !== "string" || parseBackupId(reusedFrom)?.database !== folderDatabase || reusedFrom === m.id)
  )
    fail("has an invalid check.reused_from");
  if (!Array.isArray(m.verifications)) fail("has an invalid verification history");
  for (const v of m.verifications) {
    const bad = (v as Partial<Verification> | null)?.bad_packs;
    if (bad !== undefined && (!Array.isArray(bad) || bad.some((n) => typeof n !== "string")))
      fail("has an invalid bad_packs in its verification history");
    const checked = (v as Partial<Verification> | null)?.packs_checked;
    if (
      checked !== undefined &&
      (!Array.isArray(checked) || checked.some((n) => typeof n !== "string") || bad === undefined)
    )
      fail("has an invalid packs_checked in its verification history");
  }
  const st = m.source_stat;
  if (
    st !== undefined &&
    (typeof st !== "object" ||
      st === null ||
      !isCount(st.mode) ||
      st.mode > 0o7777 ||
      !isCount(st.uid) ||
      !isCount(st.gid))
  )
    fail("has an invalid source_stat");
  const sh = m.shrunk;
  if (
    sh !== undefined &&
    (typeof sh !== "object" ||
      sh === null ||
      typeof sh.previous_id !== "string" ||
      !parseBackupId(sh.previous_id) ||
      !isCount(sh.previous_size))
  )
    fail("has an invalid shrunk section");
  if (m.shrink_accepted !== undefined && typeof m.shrink_accepted !== "boolean") fail("has an invalid shrink_accepted");
  return m;
}
