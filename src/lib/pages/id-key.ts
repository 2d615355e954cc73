/**
 * The id key of one database folder: 32 random bytes that key page ids (and,
 * through id-seal.ts, the seal of pack indexes). Kept in two forms:
 * - `.sqlbak-id-key`, the raw key, mode 0600, in the local folder only: a host
 *   with recipients only (no identity) still reads it;
 * - `id-key-<fingerprint hex>.age` beside the backups, sealed like the backups
 *   (to the recipients or the passphrase), or `id-key-<fingerprint hex>` plain
 *   when backups are not encrypted: what a folder restored from a destination
 *   adopts when its local file is gone.
 * Files are named by fingerprint and never overwritten, so a new key never
 * orphans what an older key wrote. The local key is durable before its copy.
 * Losing both only costs deduplication: a new key is made, and the next
 * backup stores every page again. Layout: docs/format.md ("The id key").
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
} from "node:fs";
import { join } from "node:path";
import { AgeFormatError, type AgeKeys, AgeNoIdentityError, decryptBytes } from "../../age/index.ts";
import { type DecryptionKeys, type Sealer, writeAllSync } from "../codec/index.ts";
import { describeError, fsErrorMessage, OperationError } from "../model/index.ts";
import {
  ensureDir,
  FILE_MODE,
  fsyncAsync,
  fsyncDirAsync,
  linkAsync,
  openAsync,
  removeQuietly,
  tempPathFor,
} from "../system/index.ts";
import { ID_KEY_BYTES, keyFingerprint } from "./page-id.ts";

/** The local copy of the id key, in the database's folder of backup_dir. */
export const LOCAL_ID_KEY_FILE = ".sqlbak-id-key";
/** A copy of an id key beside the backups; group 1 is the key's fingerprint (hex), group 2 `.age` when sealed. */
export const ID_KEY_COPY_RE = /^id-key-([0-9a-f]{16})(\.age)?$/;
/** Far above any age file of 32 bytes (a header per recipient); a larger file is not a key copy. */
const MAX_COPY_BYTES = 64 * 1024;

/** `id-key-<fingerprint hex>` (plain) or `….age` (sealed like the backups). */
export function idKeyCopyName(fingerprintHex: string, encrypted: boolean): string {
  return `id-key-${fingerprintHex}${encrypted ? ".age" : ""}`;
}

export interface LoadedIdKey {
  key: Uint8Array;
  /** The key's fingerprint, 16 hex digits (the 8 bytes every pack index records). */
  fingerprint: string;
  /** True when the key is new: nothing stored before it can be deduplicated against. */
  created: boolean;
  /** The copy the key was adopted from when the local file was missing, else null. */
  adoptedFrom: string | null;
  /** Copies looked at for adoption but not taken, with why (for a warning: a key that could not be opened). */
  skipped: { name: string; reason: string }[];
}

const fingerprintHex = (key: Uint8Array) => Buffer.from(keyFingerprint(key)).toString("hex");

const DAMAGED_HINT =
  "move the file away: sqlbak then adopts the id key stored beside the backups (id-key-…), " +
  "or starts a new one (the next backup then stores every page again)";

/** The local key, null when the file does not exist; throws OperationError for one that is not a sound key file. */
function readLocalKey(path: string): Uint8Array | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP")
      throw new OperationError(`id key ${path} is a symlink, not a regular file`, { hint: DAMAGED_HINT });
    throw new OperationError(fsErrorMessage(err, "read the id key", path));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new OperationError(`id key ${path} is not a regular file`, { hint: DAMAGED_HINT });
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
      throw new OperationError(`id key ${path} has mode ${mode}: others may read it, it must be 0600`, {
        hint: `if it is the key sqlbak wrote, \`chmod 600 ${path}\`; ${DAMAGED_HINT}`,
      });
    }
    if (st.size !== ID_KEY_BYTES)
      throw new OperationError(`id key ${path} is ${st.size} bytes, an id key is ${ID_KEY_BYTES}`, {
        hint: DAMAGED_HINT,
      });
    const key = new Uint8Array(ID_KEY_BYTES);
    let off = 0;
    while (off < ID_KEY_BYTES) {
      const n = readSync(fd, key, off, ID_KEY_BYTES - off, off);
      if (n === 0) throw new OperationError(`id key ${path} was cut short while reading`, { hint: DAMAGED_HINT });
      off += n;
    }
    return key;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` as a new file at `path`, mode 0600, durably, and never over an
 * existing one: temporary name, fsync, hard link to the final name (which
 * fails when it exists), remove the temporary name, fsync the folder. Where the
 * file system has no hard links, a rename after checking the name is free.
 * Returns false, writing nothing, when `path` already exists.
 */
async function writeNewFile(dir: string, path: string, data: Uint8Array): Promise<boolean> {
  const temp = tempPathFor(path);
  const fd = await openAsync(temp, "wx", FILE_MODE);
  let created: boolean;
  try {
    try {
      fchmodSync(fd, FILE_MODE); // whatever the umask
      writeAllSync(fd, data, 0);
      await fsyncAsync(fd); // on the thread pool: other databases of the run go on meanwhile
    } finally {
      closeSync(fd);
    }
    try {
      await linkAsync(temp, path);
      created = true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") created = false;
      else if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS" || code === "EOPNOTSUPP") {
        created = !existsSync(path);
        if (created) renameSync(temp, path); // callers hold the database's lock
      } else throw err;
    }
  } finally {
    removeQuietly(temp);
  }
  await fsyncDirAsync(dir);
  return created;
}

/** writeNewFile with a failure (permissions, a full disk) as one clear sentence naming the file. */
async function writeKeyFile(dir: string, path: string, data: Uint8Array): Promise<boolean> {
  try {
    return await writeNewFile(dir, path, data);
  } catch (err) {
    throw new OperationError(fsErrorMessage(err, "write the id key", path), { cause: err });
  }
}

/** The passphrase a sealed copy may open with: the sealer's variable, else the config's. */
function ageKeysFor(sealing: Sealer | null, keys: DecryptionKeys | undefined): AgeKeys {
  const env = keys?.env ?? process.env;
  const fromSealer = sealing && "passphrase_env" in sealing.manifest ? env[sealing.manifest.passphrase_env] : undefined;
  const fromConfig = keys?.configPassphraseEnv ? env[keys.configPassphraseEnv] : undefined;
  return { identities: keys?.identities ?? [], passphrase: fromSealer || fromConfig || undefined };
}

/** The key a copy holds, or why it cannot be taken. */
async function openCopy(
  path: string,
  fingerprint: string,
  sealed: boolean,
  ageKeys: AgeKeys,
): Promise<Uint8Array | string> {
  let bytes: Uint8Array;
  try {
    const st = lstatSync(path);
    if (!st.isFile()) return "not a regular file";
    if (st.size > MAX_COPY_BYTES) return `${st.size} bytes, too large for a key copy`;
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    return `cannot be read: ${describeError(err)}`;
  }
  let key: Uint8Array;
  try {
    key = sealed ? await decryptBytes(bytes, ageKeys) : bytes;
  } catch (err) {
    if (err instanceof AgeNoIdentityError) return "no identity or passphrase given here opens it";
    if (err instanceof AgeFormatError) return `not a valid age file: ${err.message}`;
    return `cannot be decrypted: ${describeError(err)}`;
  }
  if (key.length !== ID_KEY_BYTES) return `holds ${key.length} bytes, an id key is ${ID_KEY_BYTES}`;
  const actual = fingerprintHex(key);
  return actual === fingerprint ? key : `holds the key with fingerprint ${actual}, not the one its name gives`;
}

/**
 * The newest copy in `dir` that opens and whose content has the fingerprint
 * its name gives. Encrypted setups take sealed copies only: a key stored in
 * plain beside the backups would key page ids with a secret anyone there reads.
 */
async function adoptCopy(
  dir: string,
  sealing: Sealer | null,
  keys: DecryptionKeys | undefined,
  skipped: LoadedIdKey["skipped"],
): Promise<{ key: Uint8Array; name: string } | null> {
  const candidates: { name: string; mtimeMs: number }[] = [];
  for (const name of readdirSync(dir)) {
    const m = ID_KEY_COPY_RE.exec(name);
    if (!m) continue;
    if (sealing && !m[2]) {
      skipped.push({ name, reason: "stored in plain, and backups here are encrypted" });
      continue;
    }
    try {
      candidates.push({ name, mtimeMs: lstatSync(join(dir, name)).mtimeMs });
    } catch {
      // vanished while listing: nothing to adopt
    }
  }
  candidates.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : -1));
  const ageKeys = ageKeysFor(sealing, keys);
  for (const { name } of candidates) {
    const m = ID_KEY_COPY_RE.exec(name)!;
    const got = await openCopy(join(dir, name), m[1]!, m[2] !== undefined, ageKeys);
    if (typeof got !== "string") return { key: got, name };
    skipped.push({ name, reason: got });
  }
  return null;
}

/** The copy of `key` beside the backups, sealed by `sealing` (the raw key when null). */
async function copyBytes(key: Uint8Array, sealing: Sealer | null): Promise<Uint8Array> {
  if (!sealing) return key;
  const enc = await sealing.create();
  return Buffer.concat([...(await enc.push(key)), ...(await enc.end())]);
}

/**
 * The id key of the database folder `folder` (created if missing): the local
 * file when present (refused with an OperationError when it is not a regular
 * 0600 file of 32 bytes), else the newest copy beside the backups that `keys`
 * (or the sealer's passphrase) opens, else a new key. The local file is made
 * durable first, then the copy for `sealing` is written if it is missing.
 */
export async function loadOrCreateIdKey(
  folder: string,
  sealing: Sealer | null,
  keys?: DecryptionKeys,
): Promise<LoadedIdKey> {
  ensureDir(folder);
  const localPath = join(folder, LOCAL_ID_KEY_FILE);
  const skipped: LoadedIdKey["skipped"] = [];
  let key = readLocalKey(localPath);
  let created = false;
  let adoptedFrom: string | null = null;
  if (!key) {
    const adopted = await adoptCopy(folder, sealing, keys, skipped);
    const candidate = adopted?.key ?? new Uint8Array(randomBytes(ID_KEY_BYTES));
    if (await writeKeyFile(folder, localPath, candidate)) {
      key = candidate;
      created = !adopted;
      adoptedFrom = adopted?.name ?? null;
    } else {
      key = readLocalKey(localPath); // another run wrote it meanwhile: theirs is the key
      if (!key) throw new OperationError(`id key ${localPath} vanished while it was being written`);
    }
  }
  const fingerprint = fingerprintHex(key);
  const copyName = idKeyCopyName(fingerprint, sealing !== null);
  if (!existsSync(join(folder, copyName)))
    await writeKeyFile(folder, join(folder, copyName), await copyBytes(key, sealing));
  return { key, fingerprint, created, adoptedFrom, skipped };
}

/**
 * The local id key of `folder` when it is there and sound, else null (never
 * creates one, never throws): what reading a sealed meta block may use.
 */
export function readLocalIdKey(folder: string): Uint8Array | null {
  try {
    return readLocalKey(join(folder, LOCAL_ID_KEY_FILE));
  } catch {
    return null;
  }
}
