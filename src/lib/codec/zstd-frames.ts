/**
 * Parallel decompression of a zstd file made of independent frames, as
 * compress.ts writes them: frames are found by walking their block headers
 * (format: RFC 8878 §3.1), decompressed a few at a time on Bun's thread pool,
 * and written in order at explicit offsets while both sides are hashed. A
 * file that is not laid out that way (a frame with no declared size, one too
 * big to hold, skippable frames, trailing bytes) raises FrameLayoutError
 * before anything past the last good frame is written; the caller then falls
 * back to the streaming decompressor.
 */
import { open } from "node:fs/promises";
import type { Transform } from "node:stream";
import type { Compression } from "../model/index.ts";
import { removeQuietly } from "../system/index.ts";
import { type CompressResult, decompressFile, MAX_IN_FLIGHT, writeAllSync, writeFailure } from "./compress.ts";

const ZSTD_MAGIC = 0xfd2fb528;
/** Read size: holds several of our 2 MiB-raw frames; a frame must fit in it whole. */
const READ_BYTES = 8 * 1024 * 1024;
/**
 * Frames between garbage collections (every 16 MiB of output). The frames'
 * buffers live outside the JS heap, where the collector does not see them
 * pile up: measured on 1 GiB, peak RSS 180-230 MB without, ~150 MB with.
 */
const FRAMES_PER_GC = 8;
/** Largest declared frame content accepted: bounds the memory one frame's output takes. */
const MAX_FRAME_CONTENT = 64 * 1024 * 1024;

/** The stored file is not a sequence of bounded, sized frames; decompress it as a stream instead. */
export class FrameLayoutError extends Error {}

/**
 * Length of the frame at `off` if `buf[off..end)` holds it whole, else null
 * (need more bytes). Throws FrameLayoutError for anything but a plain zstd
 * frame with a declared content size up to MAX_FRAME_CONTENT.
 */
export function frameLength(buf: Uint8Array, off: number, end: number): number | null {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (end - off < 6) return null;
  if (view.getUint32(off, true) !== ZSTD_MAGIC) throw new FrameLayoutError("not a zstd frame");
  const fhd = buf[off + 4]!;
  const singleSegment = (fhd >> 5) & 1;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6]!;
  if (fcsBytes === 0) throw new FrameLayoutError("frame without a content size");
  let pos = off + 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  if (end - pos < fcsBytes) return null;
  const size =
    fcsBytes === 1
      ? buf[pos]!
      : fcsBytes === 2
        ? view.getUint16(pos, true) + 256
        : fcsBytes === 4
          ? view.getUint32(pos, true)
          : Number(view.getBigUint64(pos, true));
  if (size > MAX_FRAME_CONTENT) throw new FrameLayoutError("frame too large to decompress at once");
  pos += fcsBytes;
  for (;;) {
    if (end - pos < 3) return null;
    const header = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16);
    const type = (header >> 1) & 3;
    if (type === 3) throw new FrameLayoutError("reserved block type");
    pos += 3 + (type === 1 ? 1 : header >>> 3);
    if (header & 1) break;
  }
  if ((fhd >> 2) & 1) pos += 4; // content checksum
  return pos <= end ? pos - off : null;
}

/** What decompression found; `rawSha256` is null when the caller asked to hash the output itself. */
export type DecompressResult = Omit<CompressResult, "rawSha256"> & { rawSha256: string | null };

/**
 * What a decompression reports and hashes: `onRaw` hears the raw bytes written; either hash can be skipped.
 * `onFrame` (frames path only) gets each frame's output once written, to keep (restore's hash worker takes
 * it over); it is awaited, so it can hold the decompression back.
 */
export interface DecompressSides {
  onRaw?: (rawBytesDone: number) => void;
  hashRaw?: boolean;
  hashStored?: boolean;
  onFrame?: (out: Uint8Array, rawBytesDone: number) => Promise<void>;
}

/**
 * Decompresses `srcPath` into `destPath` (created 0600, must not exist),
 * several frames at once, hashing the raw output (unless `hashRaw` is false:
 * rawSha256 is then null) and the stored input (unless `hashStored` is false:
 * storedSha256 is then ""). No fsync: a caller that keeps the file syncs it.
 * Throws FrameLayoutError when the file is laid out otherwise. `onRaw` hears
 * the raw bytes written so far.
 */
export async function decompressFrames(
  srcPath: string,
  destPath: string,
  { onRaw, hashRaw = true, hashStored = true, onFrame }: DecompressSides = {},
): Promise<DecompressResult> {
  const rawHash = hashRaw ? new Bun.CryptoHasher("sha256") : null;
  const storedHash = hashStored ? new Bun.CryptoHasher("sha256") : null;
  let storedSize = 0;
  let rawSize = 0;
  const src = await open(srcPath, "r");
  const dest = await open(destPath, "wx", 0o600).catch(async (err) => {
    await src.close();
    throw writeFailure(err, destPath);
  });
  const inFlight: Promise<Uint8Array>[] = [];
  let frames = 0;
  const writeNext = async () => {
    const out = await inFlight.shift()!;
    rawHash?.update(out);
    try {
      writeAllSync(dest.fd, out, rawSize);
    } catch (err) {
      throw writeFailure(err, destPath);
    }
    rawSize += out.length;
    onRaw?.(rawSize);
    if (onFrame) await onFrame(out, rawSize);
    if (++frames % FRAMES_PER_GC === 0) Bun.gc(false);
  };
  try {
    const buf = new Uint8Array(READ_BYTES);
    let filled = 0;
    for (let pos = 0; ; ) {
      const { bytesRead } = await src.read(buf, filled, buf.length - filled, pos);
      pos += bytesRead;
      filled += bytesRead;
      let off = 0;
      // biome-ignore lint/suspicious/noAssignInExpressions: walk the frames that are complete in buf
      for (let len; (len = frameLength(buf, off, filled)) !== null; off += len) {
        const frame = buf.slice(off, off + len); // a copy: buf is refilled while the frame decompresses
        storedHash?.update(frame);
        storedSize += len;
        const out = Bun.zstdDecompress(frame);
        // a damaged frame rejects while an earlier one is awaited: handled in order, not "unhandled"
        out.catch(() => {});
        inFlight.push(out);
        if (inFlight.length >= MAX_IN_FLIGHT) await writeNext();
      }
      if (bytesRead === 0) {
        if (off !== filled) throw new FrameLayoutError("trailing bytes after the last frame");
        break;
      }
      if (off === 0 && filled === buf.length) throw new FrameLayoutError("frame larger than the read buffer");
      buf.copyWithin(0, off, filled);
      filled -= off;
    }
    while (inFlight.length > 0) await writeNext();
  } catch (err) {
    await Promise.allSettled(inFlight);
    throw err;
  } finally {
    await dest.close();
    await src.close();
  }
  return {
    rawSize,
    rawSha256: rawHash?.digest("hex") ?? null,
    storedSize,
    storedSha256: storedHash?.digest("hex") ?? "",
  };
}

/**
 * Decompresses a stored file into `destPath` (must not exist), hashing the
 * raw output and, unless `hashStored` is false, the stored input (restore's
 * proof is the raw SHA-256 alone: docs/restore.md), without fsync (verify
 * deletes the copy; restore syncs it before its rename):
 * zstd files of independent frames on every core, anything else (gzip, none,
 * encrypted, a zstd file laid out otherwise) as one stream. `onRaw` hears
 * the raw bytes written so far (from 0 again if the frame path gives up);
 * `hashRaw: false` lets the frames path leave the raw SHA-256 to the caller
 * (null); the stream path always hashes it.
 */
export async function decompressStored(
  srcPath: string,
  destPath: string,
  codec: Compression,
  decrypt?: () => Transform,
  sides: DecompressSides = {},
): Promise<DecompressResult> {
  if (codec === "zstd" && !decrypt) {
    try {
      return await decompressFrames(srcPath, destPath, sides);
    } catch (err) {
      if (!(err instanceof FrameLayoutError)) throw err;
      removeQuietly(destPath);
    }
  }
  return decompressFile(srcPath, destPath, codec, decrypt, sides.onRaw, sides.hashStored);
}
