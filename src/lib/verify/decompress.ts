/**
 * Decompressing a data file for its checks: decrypted when encrypted, the
 * stored and raw SHA-256 and sizes compared with the manifest; or, for a
 * large image (hash-beside.ts), the raw SHA-256 left for the caller to take
 * beside its SQLite check.
 */
import { type DecryptionKeys, decompressStored, NO_KEYS, openEncrypted, WrongKeyError } from "../codec/index.ts";
import { type ByteProgress, describeError, type Manifest, OperationError } from "../model/index.ts";
import type { StoredBackup } from "../store/index.ts";
import { FileHasher, HASH_BESIDE_MIN_BYTES } from "./hash-beside.ts";

const short = (sha: string) => sha.slice(0, 12);

/** A plain zstd file (decompressed frame by frame) of an image large enough to pay for a worker's start. */
const followable = (m: Manifest) =>
  m.stored.compression === "zstd" && !m.stored.encryption && m.raw.size >= HASH_BESIDE_MIN_BYTES;

/**
 * Decrypts (when encrypted) and decompresses the stored file to `dest` (must
 * not exist) and checks the stored and raw hashes and sizes against the
 * manifest. Returns the problems; the caller removes `dest`. Throws
 * WrongKeyError, before `dest` is created, when `keys` cannot open the file,
 * and OperationError (exit 1) when `dest` cannot be written: a full disk says
 * nothing about the backup, so it is no verdict on it. `onProgress` hears the
 * raw bytes written so far, of the manifest's raw size; with `hashStored: false`
 * only the raw side is compared (restore's proof is the raw SHA-256, docs/restore.md).
 */
export async function decompressChecked(
  b: StoredBackup,
  m: Manifest,
  dest: string,
  keys: DecryptionKeys = NO_KEYS,
  onProgress?: ByteProgress,
  { hashStored = true }: { hashStored?: boolean } = {},
): Promise<string[]> {
  return (await decompressBeside(b, m, dest, keys, true, { hashStored, onProgress })).problems;
}

/**
 * decompressChecked; with `hashRaw` false, where the file's frames are
 * decompressed in parallel (zstd, not encrypted), the image is not hashed here:
 * `rawHashed` then says whether its SHA-256 was compared (its size always is);
 * when false the caller hashes the image (checkWhileHashing).
 */
export async function decompressBeside(
  b: StoredBackup,
  m: Manifest,
  dest: string,
  keys: DecryptionKeys,
  hashRaw: boolean,
  { hashStored = true, onProgress }: { hashStored?: boolean; onProgress?: ByteProgress } = {},
): Promise<{ problems: string[]; rawHashed: boolean }> {
  let sums;
  // A large image's frames are hashed by a worker beside the decompression (hash-beside.ts).
  const follow = hashRaw && followable(m) ? new FileHasher() : null;
  try {
    const decrypt = m.stored.encryption ? await openEncrypted(b.dataPath, m, keys) : undefined;
    let follower: ReturnType<FileHasher["follow"]> | undefined;
    // Each frame, once written, is handed over (not copied) to the worker, which hashes them in order.
    const onFrame = follow
      ? (out: Uint8Array, done: number) => {
          follower ??= follow.follow(dest);
          return follower.frame(out, done);
        }
      : undefined;
    const onRaw = onProgress && ((done: number) => onProgress(done, m.raw.size));
    sums = await decompressStored(b.dataPath, dest, m.stored.compression, decrypt, {
      hashRaw: hashRaw && !follow,
      hashStored,
      onRaw,
      onFrame,
    });
    // The stream path (a file laid out otherwise) hashed the image itself; else the worker's sum is the image's.
    if (sums.rawSha256 === null && follow) {
      const followed = await (follower ?? follow.follow(dest)).finish(sums.rawSize);
      sums = { ...sums, rawSha256: followed.sha256 };
    }
  } catch (err) {
    if (err instanceof OperationError || err instanceof WrongKeyError) throw err;
    const problem = `${m.stored.encryption ? "decrypting and " : ""}decompressing failed: ${describeError(err)}`;
    return { problems: [problem], rawHashed: true };
  } finally {
    follow?.close();
  }
  const problems: string[] = [];
  if (hashStored && sums.storedSha256 !== m.stored.sha256)
    problems.push("stored file changed while it was read (sha256 differs)");
  if (sums.rawSize !== m.raw.size)
    problems.push(`decompressed image is ${sums.rawSize} bytes, manifest says ${m.raw.size}`);
  else if (sums.rawSha256 !== null && sums.rawSha256 !== m.raw.sha256)
    problems.push(
      `decompressed image sha256 ${short(sums.rawSha256)}… does not match the manifest's ${short(m.raw.sha256 ?? "")}…`,
    );
  return { problems, rawHashed: sums.rawSha256 !== null || sums.rawSize !== m.raw.size };
}
