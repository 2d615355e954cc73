/**
 * The JSON manifest written beside every backup: its type and the values it
 * takes. A backup exists only when its manifest does; the manifest is written
 * last. Parsing and validation are in manifest-parse.ts.
 */
import type { CheckLevel, Compression } from "./constants.ts";

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
/**
 * A pages backup references at most this many packs: at about 170 bytes an
 * entry, the list stays under 3 MiB, within MAX_MANIFEST_BYTES.
 */
export const MAX_PACKS = 16_384;

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

/**
 * An encrypted backup's meta block: the manifest fields that say what the
 * database holds (MetaFields), as JSON, age-encrypted to the backup's
 * recipients or passphrase (`age`), and for pages backups also sealed under
 * the meta key of the id key (`sealed`, id-seal.ts), both base64. The
 * manifest then leaves those fields out. Layout: docs/format.md ("The meta block").
 */
export interface ManifestMetaBlock {
  age: string;
  sealed?: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  id: string;
  database: string;
  /** The source path; absent (with host, the snapshot facts, raw.sha256, check.result) while sealed in `meta`. */
  source?: string;
  /** Permission bits and owner of the source file when it was backed up (absent in older manifests). */
  source_stat?: { mode: number; uid: number; gid: number };
  created_at: string;
  kind: BackupKind;
  tags: string[];
  snapshot: {
    method: SnapshotMethod;
    sqlite_version?: string;
    page_size: number;
    page_count: number;
    journal_mode?: string;
    user_version?: number;
    schema_sha256?: string;
    tables?: Record<string, number>;
    /**
     * Page-level snapshots (absent in older manifests and for `vacuum`): WAL frames the
     * state was read from (1..the last commit; 0 when the database file alone held it)…
     */
    wal_frames?: number;
    /** …and the size of the `-wal` file when the state was pinned (0: none). */
    wal_bytes?: number;
  };
  raw: { size: number; sha256?: string };
  stored: StoredFile | StoredPages;
  /**
   * `reused_from` (pages backups): the check did not run because the image equals, byte for
   * byte, that of this earlier backup of the same database, whose check and facts are copied.
   */
  check: { level: CheckLevel; ok: boolean; result?: string; reused_from?: string };
  duration_ms: number;
  host?: string;
  sqlbak_version: string;
  verifications: Verification[];
  /**
   * Set when this backup is far smaller than the one before it
   * (or empty while that was not); see src/lib/model/shrink.ts.
   */
  shrunk?: { previous_id: string; previous_size: number };
  /** Taken with `backup --accept-shrink`: the shrink is intended, retention and health stop guarding against it. */
  shrink_accepted?: boolean;
  /** Encrypted backups: the fields that travel encrypted (see ManifestMetaBlock); absent otherwise. */
  meta?: ManifestMetaBlock;
}

/**
 * The fields of an encrypted backup's manifest that its meta block holds, in the
 * manifest's own shape: what a destination must not see in plaintext.
 */
export interface MetaFields {
  source: string;
  source_stat?: Manifest["source_stat"];
  host: string;
  snapshot: {
    sqlite_version: string;
    journal_mode: string;
    user_version: number;
    schema_sha256: string;
    tables: Record<string, number>;
  };
  raw: { sha256: string };
  check: { result: string };
}

/** The fields of `m` that its meta block holds (m must carry them all: a manifest just built, or opened). */
export function metaFieldsOf(m: Manifest): MetaFields {
  const s = m.snapshot;
  const meta: MetaFields = {
    source: m.source!,
    host: m.host!,
    snapshot: {
      sqlite_version: s.sqlite_version!,
      journal_mode: s.journal_mode!,
      user_version: s.user_version!,
      schema_sha256: s.schema_sha256!,
      tables: s.tables!,
    },
    raw: { sha256: m.raw.sha256! },
    check: { result: m.check.result! },
  };
  if (m.source_stat) meta.source_stat = m.source_stat;
  return meta;
}

/** `m` with the fields of `meta` filled in (the meta block stays, so writing it back leaves them out again). */
export function withMetaFields(m: Manifest, meta: MetaFields): Manifest {
  return {
    ...m,
    source: meta.source,
    ...(meta.source_stat ? { source_stat: meta.source_stat } : {}),
    host: meta.host,
    snapshot: { ...m.snapshot, ...meta.snapshot },
    raw: { ...m.raw, sha256: meta.raw.sha256 },
    check: { ...m.check, result: meta.check.result },
  };
}

/** True while `m`'s meta block is sealed and its fields are not filled in. */
export function isMetaSealed(m: Manifest): boolean {
  return m.meta !== undefined && m.raw.sha256 === undefined;
}

/** What is written for `m`: with a meta block, every field the block holds is left out. */
function plainOf(m: Manifest): Manifest {
  if (!m.meta) return m;
  const { source: _s, source_stat: _st, host: _h, ...rest } = m;
  const {
    sqlite_version: _v,
    journal_mode: _j,
    user_version: _u,
    schema_sha256: _x,
    tables: _t,
    ...snapshot
  } = m.snapshot;
  const { sha256: _r, ...raw } = m.raw;
  const { result: _c, ...check } = m.check;
  return { ...rest, snapshot, raw, check };
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
  return `${JSON.stringify(plainOf(m), null, 2)}\n`;
}
