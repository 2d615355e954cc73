/**
 * Parsing a manifest re-checks everything a later step relies on (names,
 * sizes, hashes), so an edited or planted manifest is rejected instead of trusted.
 */
import { AgeKeyError, parseRecipient } from "../../age/index.ts";
import { COMPRESSIONS, type Compression } from "./constants.ts";
import {
  KINDS,
  MANIFEST_FORMAT,
  MAX_MANIFEST_BYTES,
  MAX_MANIFEST_DEPTH,
  MAX_PACKS,
  type Manifest,
  type MetaFields,
  STORED_FORMATS,
  type StoredPages,
  type Verification,
} from "./manifest.ts";
import {
  dataFileName,
  ENCRYPTED_EXTENSION,
  manifestFileName,
  mapFileName,
  PACK_FILE_RE,
  packStartedAt,
  parseBackupId,
} from "./names.ts";

const SHA256_RE = /^[0-9a-f]{64}$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

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

function isBase64(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length % 4 === 0 && BASE64_RE.test(v);
}

function isOptionalBase64(v: unknown): boolean {
  return v === undefined || isBase64(v);
}

function tablesProblem(tables: unknown, fail: (what: string) => never): void {
  if (
    typeof tables !== "object" ||
    tables === null ||
    Array.isArray(tables) ||
    Object.values(tables).some((n) => !isCount(n))
  )
    fail("has invalid table counts");
}

/**
 * Given the decrypted JSON of a manifest's meta block, return its fields or
 * throw an Error saying what is wrong (checked as strictly as the plaintext ones).
 */
export function parseMetaFields(text: string): MetaFields {
  let x: MetaFields;
  try {
    x = JSON.parse(text) as MetaFields;
  } catch {
    throw new Error("manifest meta block is not valid JSON");
  }
  const fail = (what: string): never => {
    throw new Error(`manifest meta block ${what}`);
  };
  if (typeof x !== "object" || x === null || Array.isArray(x)) fail("is not a JSON object");
  if (nestsDeeper(x, MAX_MANIFEST_DEPTH)) fail("is nested too deeply");
  if (typeof x.source !== "string" || typeof x.host !== "string") fail("has an invalid source or host");
  const snap = x.snapshot;
  if (
    typeof snap !== "object" ||
    snap === null ||
    typeof snap.sqlite_version !== "string" ||
    typeof snap.journal_mode !== "string" ||
    !Number.isSafeInteger(snap.user_version) ||
    !SHA256_RE.test(String(snap.schema_sha256))
  )
    fail("has an invalid snapshot section");
  tablesProblem(snap.tables, fail);
  if (typeof x.raw !== "object" || x.raw === null || !SHA256_RE.test(String(x.raw.sha256)))
    fail("has an invalid raw sha256");
  if (typeof x.check !== "object" || x.check === null || typeof x.check.result !== "string")
    fail("has an invalid check result");
  const st = x.source_stat;
  if (st !== undefined && !isSourceStat(st)) fail("has an invalid source_stat");
  return x;
}

function isSourceStat(st: unknown): boolean {
  const x = st as Record<string, unknown>;
  return (
    typeof st === "object" &&
    st !== null &&
    isCount(x.mode) &&
    (x.mode as number) <= 0o7777 &&
    isCount(x.uid) &&
    isCount(x.gid)
  );
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
  if (typeof m.raw !== "object" || m.raw === null || !isCount(m.raw.size)) fail("has an invalid raw size or sha256");
  const snap = m.snapshot;
  if (typeof snap !== "object" || snap === null || !isCount(snap.page_count) || !isCount(snap.page_size))
    fail("has an invalid snapshot section");
  if (m.meta !== undefined) {
    // Encrypted: what the database holds is in the meta block, and nowhere in plaintext.
    const b = m.meta as unknown as Record<string, unknown>;
    if (!s.encryption) fail("has a meta block but its backup is not encrypted");
    if (typeof b !== "object" || b === null || Array.isArray(b) || !isBase64(b.age) || !isOptionalBase64(b.sealed))
      fail("has an invalid meta block");
    if (m.raw.sha256 !== undefined || snap.tables !== undefined || snap.schema_sha256 !== undefined)
      fail("has a meta block and the fields it holds in plaintext");
  } else {
    if (!SHA256_RE.test(String(m.raw.sha256))) fail("has an invalid raw size or sha256");
    tablesProblem(snap.tables, fail);
  }
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
  if (m.source_stat !== undefined && !isSourceStat(m.source_stat)) fail("has an invalid source_stat");
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
