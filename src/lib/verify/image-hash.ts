/**
 * The SHA-256 of an image whose pages are written in any order, computed
 * while it is written: pages that arrive in page order are hashed from the
 * bytes being written; pages written ahead of the hashed prefix are only
 * marked, and read back from the file once the prefix reaches them. Memory
 * is one bit per page and one read buffer, whatever the order.
 */
import { readSync } from "node:fs";

/** Bytes read back from the file at a time. */
const READ_BACK_BYTES = 4 * 1024 * 1024;

export class OrderedImageHash {
  private readonly hash = new Bun.CryptoHasher("sha256");
  private readonly ahead: Uint8Array;
  /** The first page not hashed yet (pages are numbered from 1). */
  private next = 1;
  private buf: Uint8Array | null = null;
  /** Bytes hashed from the file rather than from the writes (tests and benches look at it). */
  readBack = 0;

  /**
   * With `hashing` false only which pages were written is kept (every page is
   * marked, nothing is read back or hashed): for a caller that hashes the
   * finished image itself (hash-beside.ts); digest() then returns "" when
   * every page was written.
   */
  constructor(
    private readonly fd: number,
    private readonly pageSize: number,
    private readonly pageCount: number,
    private readonly hashing = true,
  ) {
    this.ahead = new Uint8Array((pageCount >> 3) + 1);
  }

  private isAhead(page: number): boolean {
    return (this.ahead[page >> 3]! & (1 << (page & 7))) !== 0;
  }

  /**
   * Pages `first`.. (as many as `data` holds, one piece after another) were
   * just written at their place in the file. Each page is written once (the
   * map's runs cover every page exactly once).
   */
  wrote(first: number, data: Uint8Array | Uint8Array[]): void {
    const pieces = Array.isArray(data) ? data : [data];
    let bytes = 0;
    for (const piece of pieces) bytes += piece.length;
    const count = bytes / this.pageSize;
    if (this.hashing && first === this.next) {
      for (const piece of pieces) this.hash.update(piece);
      this.next += count;
      this.catchUp();
      return;
    }
    for (let p = first; p < first + count; p++) this.ahead[p >> 3]! |= 1 << (p & 7);
  }

  /** Hashes, from the file, the pages written ahead that now follow the hashed prefix. */
  private catchUp(): void {
    while (this.next <= this.pageCount && this.isAhead(this.next)) {
      const maxPages = Math.max(1, Math.floor(READ_BACK_BYTES / this.pageSize));
      let end = this.next;
      while (end <= this.pageCount && end - this.next < maxPages && this.isAhead(end)) end++;
      const bytes = (end - this.next) * this.pageSize;
      this.buf ??= new Uint8Array(Math.max(READ_BACK_BYTES, this.pageSize));
      const pos = (this.next - 1) * this.pageSize;
      for (let off = 0; off < bytes; ) {
        const n = readSync(this.fd, this.buf, off, bytes - off, pos + off);
        if (n === 0) throw new Error(`image ends before page ${this.next + off / this.pageSize}`);
        off += n;
      }
      this.hash.update(this.buf.subarray(0, bytes));
      this.readBack += bytes;
      this.next = end;
    }
  }

  /** The image's SHA-256 (hex; "" when not hashing), or null when some page was never written. */
  digest(): string | null {
    if (!this.hashing) {
      for (let p = 1; p <= this.pageCount; p++) if (!this.isAhead(p)) return null;
      return "";
    }
    this.catchUp();
    return this.next === this.pageCount + 1 ? this.hash.digest("hex") : null;
  }
}
