/**
 * Backup ids and file names. An id is `<database>-<UTC yyyymmddThhmmssmmmZ>-<8 hex>`:
 * ids of one database sort by creation time as plain strings, and the random
 * suffix (checked against the folder under the database's lock) keeps two
 * backups of the same millisecond apart.
 */
import { randomBytes } from "node:crypto";
import type { Compression } from "./constants.ts";

const ID_RE = /^([a-z0-9][a-z0-9_-]{0,63})-(\d{8}T\d{9}Z)-([0-9a-f]{8})$/;

export const DATA_EXTENSIONS: Record<Compression, string> = {
  zstd: ".sqlite.zst",
  gzip: ".sqlite.gz",
  none: ".sqlite",
};
export const MANIFEST_EXTENSION = ".json";
/** Appended to encrypted data files: `app-….sqlite.zst.age` is a plain age file of a zstd stream. */
export const ENCRYPTED_EXTENSION = ".age";
/** Matches any data file name sqlbak writes; group 1 is the backup id. */
export const DATA_FILE_RE = /^(.+)\.sqlite(?:\.zst|\.gz)?(?:\.age)?$/;

/** `2026-11-22T05:06:07.123Z` → `20261122T050607123Z`. */
export function compactTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, "");
}

export function newBackupId(database: string, at: Date, random = randomBytes(4).toString("hex")): string {
  return `${database}-${compactTimestamp(at)}-${random}`;
}

export interface ParsedId {
  database: string;
  createdAt: Date;
}

/** Parses an id; returns null for anything that is not exactly a backup id (so never a path). */
export function parseBackupId(id: string): ParsedId | null {
  const m = ID_RE.exec(id);
  if (!m) return null;
  const t = m[2]!;
  const iso =
    `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}` +
    `T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.${t.slice(15, 18)}Z`;
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime())) return null;
  return { database: m[1]!, createdAt };
}

export function dataFileName(id: string, compression: Compression, encrypted = false): string {
  return id + DATA_EXTENSIONS[compression] + (encrypted ? ENCRYPTED_EXTENSION : "");
}

export function manifestFileName(id: string): string {
  return id + MANIFEST_EXTENSION;
}

/**
 * Pieces of incremental (page-level) backups, in the database folder beside the
 * manifests: `<id>.map.zst[.age]` (a backup's page map), `pack-<ts>-<16 hex>.zst[.age]`
 * (immutable frames of pages) and its index `pack-<ts>-<16 hex>.idx[.sealed|.age]`: `.sealed`
 * when sealed with the key derived from the id key (what encrypted backups write, so the
 * host that holds only the id key reads it), `.age` for an age file (older encrypted
 * backups; read only where an identity or passphrase is at hand). The
 * timestamp is when the pack was started (UTC, as in ids), so a pack's age is
 * known from its name where a listing gives no times.
 */
export const MAP_FILE_RE = /^(.+)\.map\.zst(\.age)?$/;
export const PACK_FILE_RE = /^pack-(\d{8}T\d{9}Z)-([0-9a-f]{16})\.zst(\.age)?$/;
/** Group 3: `.sealed` (id-key seal), `.age` (an age file) or absent (plain). */
export const PACK_INDEX_RE = /^pack-(\d{8}T\d{9}Z)-([0-9a-f]{16})\.idx(\.sealed|\.age)?$/;
/** Appended to a pack index sealed with the key derived from the id key. */
export const SEALED_INDEX_EXTENSION = ".sealed";
/** How a pack index is stored: plain, sealed under the id key's index key, or an age file. */
export type IndexSealing = "plain" | "sealed" | "age";

export function mapFileName(id: string, encrypted = false): string {
  return `${id}.map.zst${encrypted ? ENCRYPTED_EXTENSION : ""}`;
}

/** A new pack's stem `pack-<ts>-<16 hex>`; its data file is `<stem>.zst[.age]`, its index `<stem>.idx[.sealed|.age]`. */
export function newPackStem(at: Date, random = randomBytes(8).toString("hex")): string {
  return `pack-${compactTimestamp(at)}-${random}`;
}

export function packFileName(stem: string, encrypted = false): string {
  return `${stem}.zst${encrypted ? ENCRYPTED_EXTENSION : ""}`;
}

export function packIndexName(stem: string, sealing: IndexSealing = "plain"): string {
  const ext = sealing === "sealed" ? SEALED_INDEX_EXTENSION : sealing === "age" ? ENCRYPTED_EXTENSION : "";
  return `${stem}.idx${ext}`;
}

/**
 * When a pack or pack index was started, from its name; null for any other name (and for a time that does not
 * exist).
 */
export function packStartedAt(name: string): Date | null {
  const m = PACK_FILE_RE.exec(name) ?? PACK_INDEX_RE.exec(name);
  return m ? (parseBackupId(`x-${m[1]}-00000000`)?.createdAt ?? null) : null;
}
