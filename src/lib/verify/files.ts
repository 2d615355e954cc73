/** Reading stored files for their checksum without following symlinks (a planted link is not our data). */
import { constants, lstatSync } from "node:fs";
import { open } from "node:fs/promises";
import { CHUNK_BYTES } from "../codec/index.ts";
import { type ByteProgress, describeError } from "../model/index.ts";

/** How a stored file is named in problems ("data file", "pack pack-…"); `missing` replaces "cannot read" for ENOENT. */
export interface FileLabel {
  what: string;
  missing?: string;
}

const DATA_FILE: FileLabel = { what: "data file" };

function openProblem(err: unknown, label: FileLabel): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ELOOP") return `${label.what} is a symbolic link, not a regular file`;
  if (code === "ENOENT" && label.missing) return label.missing;
  return `cannot read ${label.what}: ${describeError(err)}`;
}

/** SHA-256 and size of a regular file, or what keeps it from being one; `onProgress` hears the bytes read. */
export async function hashRegularFile(
  path: string,
  label: FileLabel = DATA_FILE,
  onProgress?: ByteProgress,
): Promise<{ size: number; sha256: string } | string> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    return openProblem(err, label);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return `${label.what} is not a regular file`;
    const hasher = new Bun.CryptoHasher("sha256");
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, size);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
      size += bytesRead;
      onProgress?.(size, st.size);
    }
    return { size, sha256: hasher.digest("hex") };
  } finally {
    await fh.close();
  }
}

/** Size of a regular file, not following symlinks; what hashRegularFile checks, without reading it. */
export function statRegularFile(
  path: string,
  label: FileLabel = DATA_FILE,
): { size: number; sha256?: string } | string {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return `${label.what} is a symbolic link, not a regular file`;
    return st.isFile() ? { size: st.size } : `${label.what} is not a regular file`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && label.missing) return label.missing;
    return `cannot read ${label.what}: ${describeError(err)}`;
  }
}
