/**
 * Reads a pack back as a stream of (entry, page): the stored bytes are hashed
 * as they are read, decrypted when the pack is an age file, split into zstd
 * frames and decompressed a few frames ahead on Bun's thread pool. Memory is
 * a read buffer and a few frames, whatever the pack's size.
 */

import { open } from "node:fs/promises";
import { basename } from "node:path";
import { AgeFormatError, type AgeKeys, AgeNoIdentityError, openAgeFile, PayloadDecrypter } from "../../age/index.ts";
import { FrameLayoutError, frameLength, MAX_IN_FLIGHT } from "../codec/index.ts";
import { describeError, OperationError } from "../model/index.ts";
import { isValidPageSize, PageFormatError } from "./layout.ts";

/** Stored bytes read at a time. */
const READ_BYTES = 1024 * 1024;
/**
 * Room for compressed bytes not yet split into frames: several frames of ~1 MiB (an incompressible frame is a
 * few bytes over its raw size).
 */
const FRAME_BUFFER_BYTES = 4 * 1024 * 1024;

export interface ReadPackOptions {
  pageSize: number;
  pagesPerFrame: number;
  /** SHA-256 (hex) of the pack's stored bytes, as the backup recorded it. */
  sha256: string;
  /** Stored size, when known: a shorter or longer file is named as such. */
  size?: number;
  /** Entries the pack holds, when known (from its index). */
  entries?: number;
  /** What opens an encrypted (`.age`) pack. */
  keys?: AgeKeys;
  /**
   * Frames to decompress (by index), when not all: the pages of the others
   * are not yielded, though their stored bytes are hashed and checked as
   * every frame's are. A skipped frame is taken to hold pagesPerFrame pages
   * (as every frame but the last does), so `entries` is not checked then.
   */
  wantFrame?: (frame: number) => boolean;
}

export interface PackEntry {
  entry: number;
  /** The page's bytes: a view into its frame's output, not reused by the reader. */
  page: Uint8Array;
}

/** The key given does not open the pack: not damage to the pack. */
export class PackKeyError extends OperationError {}

/**
 * Yields every entry of the pack at `path` in order. The stored bytes'
 * SHA-256 (and size, entry count when given) is checked once they are all
 * read, so a caller counts what it got as good only when the iteration ends
 * without an error. Throws PageFormatError naming the pack for a damaged,
 * truncated or altered pack, PackKeyError when `keys` cannot open it.
 */
export async function* readPack(path: string, opts: ReadPackOptions): AsyncGenerator<PackEntry> {
  if (!isValidPageSize(opts.pageSize) || !(opts.pagesPerFrame >= 1))
    throw new RangeError(`cannot read a pack of ${opts.pageSize}-byte pages, ${opts.pagesPerFrame} per frame`);
  const name = basename(path);
  const damaged = (problem: string) => new PageFormatError(`pack ${name} is damaged: ${problem}`);
  const frameBytes = opts.pagesPerFrame * opts.pageSize;
  let decrypter: PayloadDecrypter | null = null;
  let skip = 0;
  if (name.endsWith(".age")) {
    try {
      const { fileKey, headerBytes } = await openAgeFile(path, opts.keys ?? { identities: [] });
      decrypter = new PayloadDecrypter(fileKey);
      skip = headerBytes;
    } catch (err) {
      if (err instanceof AgeNoIdentityError) throw new PackKeyError(`cannot decrypt pack ${name}: ${err.message}`);
      if (err instanceof AgeFormatError) throw damaged(err.message);
      throw err;
    }
  }
  const hash = new Bun.CryptoHasher("sha256");
  let storedSize = 0;
  const buf = new Uint8Array(FRAME_BUFFER_BYTES);
  let filled = 0;
  const pending: { index: number; out: Promise<Uint8Array> | null }[] = [];
  let skipped = false;
  let frames = 0;
  let entry = 0;
  let shortFrame = -1;

  /** Splits off the complete frames in buf and starts decompressing them. */
  const splitFrames = () => {
    let off = 0;
    try {
      // biome-ignore lint/suspicious/noAssignInExpressions: walk the frames that are complete in buf
      for (let len; (len = frameLength(buf, off, filled)) !== null; off += len) {
        if (opts.wantFrame && !opts.wantFrame(frames)) {
          pending.push({ index: frames++, out: null });
          continue;
        }
        const out = Bun.zstdDecompress(buf.slice(off, off + len)); // a copy: buf is refilled meanwhile
        out.catch(() => {}); // handled in order below, not as an unhandled rejection meanwhile
        pending.push({ index: frames++, out });
      }
    } catch (err) {
      if (err instanceof FrameLayoutError) throw damaged(`frame ${frames}: ${err.message}`);
      throw err;
    }
    buf.copyWithin(0, off, filled);
    filled -= off;
  };
  const take = (plain: Uint8Array) => {
    for (let off = 0; off < plain.length; ) {
      if (filled === buf.length) {
        splitFrames();
        if (filled === buf.length) throw damaged(`frame ${frames} is larger than any sqlbak writes`);
      }
      const n = Math.min(buf.length - filled, plain.length - off);
      buf.set(plain.subarray(off, off + n), filled);
      filled += n;
      off += n;
    }
  };
  /** The pages of the oldest pending frame, checked for shape. */
  async function* drainOne(): AsyncGenerator<PackEntry> {
    const { index, out } = pending.shift()!;
    if (shortFrame >= 0)
      throw damaged(`frame ${shortFrame} holds fewer than ${opts.pagesPerFrame} pages but is not the last`);
    entry = index * opts.pagesPerFrame;
    if (out === null) {
      skipped = true;
      entry += opts.pagesPerFrame;
      return;
    }
    let raw: Uint8Array;
    try {
      raw = await out;
    } catch (err) {
      throw damaged(`frame ${index} does not decompress (${describeError(err)})`);
    }
    if (raw.length === 0 || raw.length % opts.pageSize !== 0 || raw.length > frameBytes)
      throw damaged(
        `frame ${index} holds ${raw.length} bytes, not 1 to ${opts.pagesPerFrame} pages of ${opts.pageSize}`,
      );
    if (raw.length < frameBytes) shortFrame = index;
    for (let off = 0; off < raw.length; off += opts.pageSize)
      yield { entry: entry++, page: raw.subarray(off, off + opts.pageSize) };
  }

  const fh = await open(path, "r");
  try {
    const chunk = new Uint8Array(READ_BYTES);
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, storedSize);
      if (bytesRead === 0) break;
      const stored = chunk.subarray(0, bytesRead);
      hash.update(stored);
      storedSize += bytesRead;
      let body = stored;
      if (skip > 0) {
        const n = Math.min(skip, body.length);
        skip -= n;
        body = body.subarray(n);
      }
      try {
        for (const plain of decrypter ? await decrypter.push(body) : [body]) take(plain);
      } catch (err) {
        if (err instanceof AgeFormatError) throw damaged(err.message);
        throw err;
      }
      splitFrames();
      while (pending.length > MAX_IN_FLIGHT) yield* drainOne();
    }
    if (decrypter) {
      try {
        take(await decrypter.end());
      } catch (err) {
        if (err instanceof AgeFormatError) throw damaged(err.message);
        throw err;
      }
      splitFrames();
    }
    while (pending.length > 0) yield* drainOne();
    if (filled > 0) throw damaged(`it ends inside frame ${frames} (${filled} bytes of it): truncated`);
  } finally {
    await Promise.allSettled(pending.map((p) => p.out ?? Promise.resolve()));
    await fh.close();
  }
  const sha256 = hash.digest("hex");
  if (opts.size !== undefined && storedSize !== opts.size)
    throw damaged(`${storedSize} bytes stored, the backup recorded ${opts.size}`);
  if (sha256 !== opts.sha256)
    throw damaged(`the SHA-256 of its stored bytes is ${sha256}, the backup recorded ${opts.sha256}`);
  if (opts.entries !== undefined && !skipped && entry !== opts.entries)
    throw damaged(`it holds ${entry} entries, its index lists ${opts.entries}`);
  if (entry === 0) throw damaged("it holds no pages");
}
