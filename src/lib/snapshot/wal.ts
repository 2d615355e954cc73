/**
 * Read-only parsing of SQLite's WAL file and of the wal-index in its `-shm`
 * file (formats: sqlite.org/fileformat2.html, sqlite.org/walformat.html and
 * wal.c). Nothing here takes a lock or writes: the caller pins the state with
 * its own read transaction and uses these readers to find which bytes that
 * state is made of. They read through a ReadAt over a descriptor the caller
 * keeps open: closing any descriptor of a file drops every POSIX lock this
 * process holds on it, SQLite's read lock included, so the caller must keep
 * its descriptors open until SQLite's connection closes.
 */

/** Reads into all of `buf` from byte `position` of one file; returns the bytes read (fewer only at its end). */
export type ReadAt = (buf: Uint8Array, position: number) => number;

const WAL_MAGIC_LE = 0x377f0682;
const WAL_MAGIC_BE = 0x377f0683;
export const WAL_HEADER_BYTES = 32;
export const WAL_FRAME_HEADER_BYTES = 24;
/** Two 48-byte WalIndexHdr copies, then WalCkptInfo (nBackfill first). */
const SHM_HDR_BYTES = 48;
const SHM_READ_BYTES = 2 * SHM_HDR_BYTES + 4;
/**
 * The wal-index is a run of 32 KiB blocks, each an array of 4096 page numbers
 * (u32, host byte order: aPgno[i] is the page of one frame) then a hash table
 * of 8192 u16 slots. Block 0 starts with the 136-byte header (two WalIndexHdr
 * and WalCkptInfo), so its array holds 4096 - 136/4 = 4062 frames: 1..4062;
 * block b > 0 holds frames 4062 + (b-1)*4096 + 1 onwards (wal.c: walHashGet).
 */
const SHM_BLOCK_BYTES = 32768;
const SHM_INDEX_HEADER_BYTES = 136;
const SHM_BLOCK_FRAMES = 4096;
export const SHM_FIRST_BLOCK_FRAMES = SHM_BLOCK_FRAMES - SHM_INDEX_HEADER_BYTES / 4;

/** The wal-index header a reader copies when it begins a read transaction. */
export interface ShmHeader {
  /** The header bytes, for exact comparison between two reads. */
  raw: Buffer;
  mxFrame: number;
  nPage: number;
  frameCksum: [number, number];
  salt: [number, number];
  /** Frames already copied into the database file (WalCkptInfo.nBackfill). */
  nBackfill: number;
}

/**
 * Reads the wal-index header from `-shm`, or null when it is absent, not yet
 * initialised, or caught mid-update (its two copies differ: a writer is
 * between them, exactly the case in which SQLite's own readers retry).
 * The file is in the host's byte order; every host Bun runs on is little-endian.
 */
export function readShmHeader(readShm: ReadAt): ShmHeader | null {
  const buf = Buffer.alloc(SHM_READ_BYTES);
  if (readShm(buf, 0) < SHM_READ_BYTES) return null;
  const a = buf.subarray(0, SHM_HDR_BYTES);
  if (!a.equals(buf.subarray(SHM_HDR_BYTES, 2 * SHM_HDR_BYTES)) || a[12] !== 1) return null;
  return {
    raw: Buffer.from(a),
    mxFrame: a.readUInt32LE(16),
    nPage: a.readUInt32LE(20),
    frameCksum: [a.readUInt32LE(24), a.readUInt32LE(28)],
    // wal.c copies the salts byte for byte from the WAL header, which is big-endian.
    salt: [a.readUInt32BE(32), a.readUInt32BE(36)],
    nBackfill: buf.readUInt32LE(2 * SHM_HDR_BYTES),
  };
}

/** SQLite's WAL checksum over `data` (a multiple of 8 bytes), continuing from `s`. */
export function walChecksum(data: Buffer, bigEndian: boolean, s: [number, number]): [number, number] {
  let s0 = s[0];
  let s1 = s[1];
  for (let i = 0; i < data.length; i += 8) {
    const x0 = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i);
    const x1 = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

/** Byte offset in the WAL of frame `frame`'s header (frames count from 1). */
export function walFrameOffset(frame: number, pageSize: number): number {
  return WAL_HEADER_BYTES + (frame - 1) * (WAL_FRAME_HEADER_BYTES + pageSize);
}

/**
 * Calls `visit(frame, page)` for frames `first`..`last` in order, with the page
 * number the wal-index records for each: 4 bytes a frame, one read per block.
 */
export function walIndexPages(
  readShm: ReadAt,
  first: number,
  last: number,
  visit: (frame: number, page: number) => void,
): void {
  let frame = first;
  while (frame <= last) {
    // Block of `frame`, the frame its array starts with, and where that array sits in -shm.
    const block = frame <= SHM_FIRST_BLOCK_FRAMES ? 0 : Math.ceil((frame - SHM_FIRST_BLOCK_FRAMES) / SHM_BLOCK_FRAMES);
    const zero = block === 0 ? 1 : SHM_FIRST_BLOCK_FRAMES + (block - 1) * SHM_BLOCK_FRAMES + 1;
    const base = block === 0 ? SHM_INDEX_HEADER_BYTES : block * SHM_BLOCK_BYTES;
    const end = Math.min(last, zero + (block === 0 ? SHM_FIRST_BLOCK_FRAMES : SHM_BLOCK_FRAMES) - 1);
    // A fresh buffer: byteOffset 0, so the Uint32Array view reads host order, as SQLite wrote it.
    const buf = new Uint8Array((end - frame + 1) * 4);
    if (readShm(buf, base + (frame - zero) * 4) < buf.length)
      throw new WalChangedError(`wal-index is short at frame ${frame}`);
    const pgno = new Uint32Array(buf.buffer);
    for (let i = 0; i < pgno.length; i++) visit(frame + i, pgno[i]!);
    frame = end + 1;
  }
}

export interface WalIndex {
  /** Page number → byte offset of that page's data in the WAL: its latest frame in the range read. */
  pages: Map<number, number>;
  /** Salts of the WAL header the frames belong to. */
  salt: [number, number];
}

/**
 * The WAL frames of the state wal-index header `h` describes, as SQLite's own
 * readers find them: for each page up to `pageCount`, its latest frame in
 * (h.nBackfill, h.mxFrame] per the wal-index (older frames are in the database
 * file already). Reads 4 bytes of `-shm` per frame in that range, and from the
 * WAL only its header and frame mxFrame's header: the header's magic, page
 * size, salts (h's) and checksum; frame mxFrame's page number (the
 * wal-index's), salts, commit size (h.nPage) and checksum (h.frameCksum).
 * Throws WalChangedError when these do not match (the caller retries). Each
 * frame used is checked again when its page is read (checkFrameHeader).
 */
export function indexWal(
  readWal: ReadAt,
  readShm: ReadAt,
  h: ShmHeader,
  pageSize: number,
  pageCount: number,
): WalIndex {
  const hdr = Buffer.alloc(WAL_HEADER_BYTES);
  if (readWal(hdr, 0) < WAL_HEADER_BYTES) throw new WalChangedError("WAL header is short");
  const magic = hdr.readUInt32BE(0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) throw new WalChangedError("WAL magic is wrong");
  const salt: [number, number] = [hdr.readUInt32BE(16), hdr.readUInt32BE(20)];
  if (hdr.readUInt32BE(8) !== pageSize) throw new WalChangedError("WAL page size differs");
  if (salt[0] !== h.salt[0] || salt[1] !== h.salt[1]) throw new WalChangedError("WAL salts differ");
  const sum = walChecksum(hdr.subarray(0, 24), magic === WAL_MAGIC_BE, [0, 0]);
  if (sum[0] !== hdr.readUInt32BE(24) || sum[1] !== hdr.readUInt32BE(28))
    throw new WalChangedError("WAL header checksum");

  const latest = new Map<number, number>();
  let lastPage = 0;
  walIndexPages(readShm, h.nBackfill + 1, h.mxFrame, (frame, page) => {
    if (page === 0) throw new WalChangedError(`wal-index has no page for frame ${frame}`);
    latest.set(page, frame);
    lastPage = page;
  });

  const last = Buffer.alloc(WAL_FRAME_HEADER_BYTES);
  if (readWal(last, walFrameOffset(h.mxFrame, pageSize)) < last.length)
    throw new WalChangedError(`WAL frame ${h.mxFrame} is short`);
  checkFrameHeader(last, lastPage, salt, h.mxFrame);
  if (last.readUInt32BE(4) === 0 || last.readUInt32BE(4) !== h.nPage)
    throw new WalChangedError(`WAL frame ${h.mxFrame} is not the commit frame of ${h.nPage} pages`);
  if (last.readUInt32BE(16) !== h.frameCksum[0] || last.readUInt32BE(20) !== h.frameCksum[1])
    throw new WalChangedError(`WAL frame ${h.mxFrame} checksum is not the wal-index's`);

  const pages = new Map<number, number>();
  for (const [page, frame] of latest)
    if (page <= pageCount) pages.set(page, walFrameOffset(frame, pageSize) + WAL_FRAME_HEADER_BYTES);
  return { pages, salt };
}

/** Throws unless the 24-byte frame header `fh` is of page `page` in the WAL whose salts are `salt`. */
export function checkFrameHeader(fh: Uint8Array, page: number, salt: [number, number], frame?: number): void {
  const v = new DataView(fh.buffer, fh.byteOffset, WAL_FRAME_HEADER_BYTES);
  const which = frame === undefined ? `the WAL frame of page ${page}` : `WAL frame ${frame}`;
  if (v.getUint32(0) !== page) throw new WalChangedError(`${which} holds page ${v.getUint32(0)}`);
  if (v.getUint32(8) !== salt[0] || v.getUint32(12) !== salt[1]) throw new WalChangedError(`${which}: salts differ`);
}

/** The WAL on disk is not the one the read transaction pinned; retry. */
export class WalChangedError extends Error {}

/** The salts in the WAL file's header now, or null if it is short. */
export function readWalSalt(readWal: ReadAt): [number, number] | null {
  const hdr = Buffer.alloc(WAL_HEADER_BYTES);
  if (readWal(hdr, 0) < WAL_HEADER_BYTES) return null;
  return [hdr.readUInt32BE(16), hdr.readUInt32BE(20)];
}
