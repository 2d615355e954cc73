/**
 * Read-only parsing of SQLite's WAL file and of the wal-index header in its
 * `-shm` file (formats: sqlite.org/fileformat2.html and wal.c). Nothing here
 * takes a lock or writes: the caller pins the state with its own read
 * transaction and uses these readers to find which bytes that state is made of.
 * They take file descriptors, never paths: closing any descriptor of a file
 * drops every POSIX lock this process holds on it, SQLite's read lock included,
 * so the caller must keep its descriptors open until SQLite's connection closes.
 */
import { readSync } from "node:fs";

const WAL_MAGIC_LE = 0x377f0682;
const WAL_MAGIC_BE = 0x377f0683;
export const WAL_HEADER_BYTES = 32;
export const WAL_FRAME_HEADER_BYTES = 24;
/** Two 48-byte WalIndexHdr copies, then WalCkptInfo (nBackfill first). */
const SHM_HDR_BYTES = 48;
const SHM_READ_BYTES = 2 * SHM_HDR_BYTES + 4;

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
export function readShmHeader(shmFd: number): ShmHeader | null {
  const buf = Buffer.alloc(SHM_READ_BYTES);
  const n = readSync(shmFd, buf, 0, SHM_READ_BYTES, 0);
  if (n < SHM_READ_BYTES) return null;
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

/**
 * SQLite's WAL checksum over `data` (a multiple of 8 bytes), continuing from
 * `s`. Little-endian words (magic 0x377f0682, what x86/ARM hosts write) go
 * through a Uint32Array view: the JS loop is the cost of indexing a big WAL.
 */
export function walChecksum(data: Buffer, bigEndian: boolean, s: [number, number]): [number, number] {
  let s0 = s[0];
  let s1 = s[1];
  if (!bigEndian && data.byteOffset % 4 === 0) {
    const w = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    for (let i = 0; i < w.length; i += 2) {
      s0 = (s0 + w[i]! + s1) >>> 0;
      s1 = (s1 + w[i + 1]! + s0) >>> 0;
    }
    return [s0, s1];
  }
  for (let i = 0; i < data.length; i += 8) {
    const x0 = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i);
    const x1 = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

export interface WalIndex {
  /** Page number → byte offset of that page's data in the WAL, latest frame wins. */
  pages: Map<number, number>;
  /** Salts of the WAL header the frames were validated against. */
  salt: [number, number];
}

/**
 * Indexes frames 1..`mxFrame` of the WAL at `walPath`, validating the header,
 * every frame's salts and the cumulative checksum chain, and that the chain
 * ends exactly at `expect` (the wal-index header's salts and checksum of frame
 * `mxFrame`). Throws if the WAL does not hold exactly the frames expected: the
 * caller then retries, since that means a writer restarted the WAL.
 */
export function indexWal(fd: number, mxFrame: number, pageSize: number, expect: ShmHeader): WalIndex {
  const hdr = Buffer.alloc(WAL_HEADER_BYTES);
  if (readSync(fd, hdr, 0, WAL_HEADER_BYTES, 0) < WAL_HEADER_BYTES) throw new WalChangedError("WAL header is short");
  const magic = hdr.readUInt32BE(0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) throw new WalChangedError("WAL magic is wrong");
  const bigEndian = magic === WAL_MAGIC_BE;
  const salt: [number, number] = [hdr.readUInt32BE(16), hdr.readUInt32BE(20)];
  if (hdr.readUInt32BE(8) !== pageSize) throw new WalChangedError("WAL page size differs");
  if (salt[0] !== expect.salt[0] || salt[1] !== expect.salt[1]) throw new WalChangedError("WAL salts differ");
  let sum = walChecksum(hdr.subarray(0, 24), bigEndian, [0, 0]);
  if (sum[0] !== hdr.readUInt32BE(24) || sum[1] !== hdr.readUInt32BE(28))
    throw new WalChangedError("WAL header checksum");
  const pages = new Map<number, number>();
  const frame = Buffer.alloc(WAL_FRAME_HEADER_BYTES + pageSize);
  for (let i = 1; i <= mxFrame; i++) {
    const off = WAL_HEADER_BYTES + (i - 1) * frame.length;
    if (readSync(fd, frame, 0, frame.length, off) < frame.length) throw new WalChangedError(`WAL frame ${i} is short`);
    if (frame.readUInt32BE(8) !== salt[0] || frame.readUInt32BE(12) !== salt[1])
      throw new WalChangedError(`WAL frame ${i} salts`);
    sum = walChecksum(frame.subarray(0, 8), bigEndian, sum);
    sum = walChecksum(frame.subarray(WAL_FRAME_HEADER_BYTES), bigEndian, sum);
    if (sum[0] !== frame.readUInt32BE(16) || sum[1] !== frame.readUInt32BE(20))
      throw new WalChangedError(`WAL frame ${i} checksum`);
    pages.set(frame.readUInt32BE(0), off + WAL_FRAME_HEADER_BYTES);
  }
  if (mxFrame > 0 && frame.readUInt32BE(4) === 0)
    throw new WalChangedError(`WAL frame ${mxFrame} is not a commit frame`);
  if (sum[0] !== expect.frameCksum[0] || sum[1] !== expect.frameCksum[1])
    throw new WalChangedError("WAL checksum chain ends elsewhere");
  return { pages, salt };
}

/** The WAL on disk is not the one the read transaction pinned; retry. */
export class WalChangedError extends Error {}

/** The salts in the WAL file's header now, or null if it is short. */
export function readWalSalt(walFd: number): [number, number] | null {
  const hdr = Buffer.alloc(WAL_HEADER_BYTES);
  if (readSync(walFd, hdr, 0, WAL_HEADER_BYTES, 0) < WAL_HEADER_BYTES) return null;
  return [hdr.readUInt32BE(16), hdr.readUInt32BE(20)];
}
