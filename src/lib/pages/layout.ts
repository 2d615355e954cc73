/**
 * Sizes shared by the pack, its index and the map (their byte layouts are in
 * docs/format.md), and the error every decoder here throws.
 */

/**
 * Raw bytes of one zstd frame of a pack: small enough that a restore decompresses only what it needs, big enough
 * to cost ~1.5% over one stream.
 */
export const FRAME_RAW_BYTES = 1024 * 1024;
/** A pack is closed at the first frame boundary at or past this many raw bytes (more for big images, below). */
export const PACK_TARGET_RAW_BYTES = 32 * 1024 * 1024;
/**
 * The new packs of one backup stay about this many or fewer: the manifest lists
 * every pack a backup references, and must stay far below its size cap.
 */
export const NEW_PACKS_PER_IMAGE = 1024;

/**
 * Where a backup of an image of `imageBytes` closes its packs: 32 MiB of raw
 * pages, or for an image over 32 GiB a 1/1024th of it, in whole MiB, so the
 * first backup of any database writes at most about 1024 packs.
 */
export function packTargetRawBytes(imageBytes: number): number {
  const share = Math.ceil(imageBytes / NEW_PACKS_PER_IMAGE / FRAME_RAW_BYTES) * FRAME_RAW_BYTES;
  return Math.max(PACK_TARGET_RAW_BYTES, share);
}

/** Pages per frame for `pageSize`: F = max(1, floor(1 MiB / page size)). */
export function pagesPerFrame(pageSize: number): number {
  return Math.max(1, Math.floor(FRAME_RAW_BYTES / pageSize));
}

/** SQLite's page sizes: a power of two from 512 to 65 536. */
export function isValidPageSize(n: number): boolean {
  return Number.isInteger(n) && n >= 512 && n <= 65536 && (n & (n - 1)) === 0;
}

/** A map, pack index or pack whose bytes are not what sqlbak writes (damaged, truncated, or not ours). */
export class PageFormatError extends Error {}

/** Little-endian reader over a byte array that throws PageFormatError (naming `what`) on reading past the end. */
export class ByteReader {
  private readonly view: DataView;
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(problem: string): never {
    throw new PageFormatError(`${this.what}: ${problem}`);
  }
  need(n: number, of: string): void {
    if (this.bytes.length - this.pos < n)
      this.fail(`truncated: ${of} needs ${n} bytes at offset ${this.pos}, ${this.bytes.length - this.pos} left`);
  }
  u32(): number {
    this.need(4, "a u32");
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8, "a u64");
    const v = this.view.getBigUint64(this.pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`u64 at offset ${this.pos} is out of range`);
    this.pos += 8;
    return Number(v);
  }
  take(n: number): Uint8Array {
    this.need(n, `${n} bytes`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  magic(expected: string): void {
    this.need(expected.length, "the magic");
    const got = new TextDecoder("latin1").decode(this.take(expected.length));
    if (got !== expected) this.fail(`not a ${expected} file (magic ${JSON.stringify(got)})`);
  }
  end(): void {
    if (this.pos !== this.bytes.length)
      this.fail(`${this.bytes.length - this.pos} trailing bytes after offset ${this.pos}`);
  }
}

/** Little-endian writer into a buffer of known length. */
export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.bytes[this.pos++] = s.charCodeAt(i);
  }
  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  u64(v: number): void {
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
  }
  put(b: Uint8Array): void {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }
}

/** Throws unless `v` is an integer in [0, 2^32). */
export function checkU32(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${name} ${v} is not a u32`);
}
