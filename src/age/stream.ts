/**
 * The age payload: a 16-byte nonce, then STREAM — 64 KiB chunks, each sealed
 * with ChaCha20-Poly1305 under nonce = 11-byte big-endian counter || last flag.
 * Both directions hold at most one chunk, so memory is flat for any size.
 * A chunk is sealed as "last" only once it is known nothing follows, so a
 * payload of exactly 64 KiB is one full last chunk, and an empty payload is a
 * single empty last chunk (the only chunk allowed to be empty).
 */
import { randomBytes } from "node:crypto";
import { Transform } from "node:stream";
import { AgeFormatError } from "./header.ts";
import { chachaKey, chachaOpen, chachaSeal, hkdf, TAG_BYTES } from "./primitives.ts";

export const PLAIN_CHUNK_BYTES = 64 * 1024;
export const SEALED_CHUNK_BYTES = PLAIN_CHUNK_BYTES + TAG_BYTES;
export const PAYLOAD_NONCE_BYTES = 16;

function chunkNonce(counter: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(3, BigInt(counter)); // bytes 0-2 of the 11-byte counter stay 0
  nonce[11] = last ? 1 : 0;
  return nonce;
}

function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Promise<CryptoKey> {
  return chachaKey(hkdf(fileKey, nonce, "payload"));
}

/** Encrypts a payload pushed in pieces of any size; the output starts with `prefix` (the header) and the nonce. */
export class PayloadEncrypter {
  private readonly pending = new Uint8Array(PLAIN_CHUNK_BYTES);
  private filled = 0;
  private counter = 0;
  private lead: Uint8Array | null;
  private ended = false;

  private constructor(
    private readonly key: CryptoKey,
    lead: Uint8Array,
  ) {
    this.lead = lead;
  }

  static async create(fileKey: Uint8Array, prefix: Uint8Array): Promise<PayloadEncrypter> {
    const nonce = randomBytes(PAYLOAD_NONCE_BYTES);
    return new PayloadEncrypter(await payloadKey(fileKey, nonce), Buffer.concat([prefix, nonce]));
  }

  private async seal(last: boolean): Promise<Uint8Array> {
    const sealed = await chachaSeal(this.key, chunkNonce(this.counter, last), this.pending.subarray(0, this.filled));
    this.counter++;
    this.filled = 0;
    return sealed;
  }

  private takeLead(out: Uint8Array[]): void {
    if (this.lead) out.push(this.lead);
    this.lead = null;
  }

  /** Returns the ciphertext that is final so far, in pieces (possibly none). */
  async push(data: Uint8Array): Promise<Uint8Array[]> {
    if (this.ended) throw new Error("push after end");
    const out: Uint8Array[] = [];
    this.takeLead(out);
    for (let off = 0; off < data.length; ) {
      // A full chunk is sealed only now that more data proves it is not the last.
      if (this.filled === PLAIN_CHUNK_BYTES) out.push(await this.seal(false));
      const n = Math.min(PLAIN_CHUNK_BYTES - this.filled, data.length - off);
      this.pending.set(data.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
    }
    return out;
  }

  /** Seals the last chunk and returns the remaining ciphertext pieces. */
  async end(): Promise<Uint8Array[]> {
    if (this.ended) throw new Error("end called twice");
    this.ended = true;
    const out: Uint8Array[] = [];
    this.takeLead(out);
    out.push(await this.seal(true));
    return out;
  }
}

/** Decrypts the payload (nonce first) pushed in pieces of any size, authenticating every chunk. */
export class PayloadDecrypter {
  private readonly nonce = new Uint8Array(PAYLOAD_NONCE_BYTES);
  private nonceFilled = 0;
  private key: CryptoKey | null = null;
  private readonly pending = new Uint8Array(SEALED_CHUNK_BYTES);
  private filled = 0;
  private counter = 0;

  constructor(private readonly fileKey: Uint8Array) {}

  private async open(last: boolean): Promise<Uint8Array> {
    const sealed = this.pending.subarray(0, this.filled);
    const plain = await chachaOpen(this.key!, chunkNonce(this.counter, last), sealed);
    if (!plain) {
      // Tell truncation and trailing bytes apart from damage: try the other flag.
      const other = await chachaOpen(this.key!, chunkNonce(this.counter, !last), sealed);
      if (other && last) throw new AgeFormatError("encrypted payload is truncated (its last chunk is missing)");
      if (other) throw new AgeFormatError("encrypted payload has trailing data after its last chunk");
      throw new AgeFormatError(
        `encrypted payload chunk ${this.counter} failed authentication (the file is damaged or was altered)`,
      );
    }
    if (last && plain.length === 0 && this.counter > 0)
      throw new AgeFormatError("encrypted payload ends with an empty chunk, which age forbids");
    this.counter++;
    this.filled = 0;
    return plain;
  }

  /** Returns the plaintext that is final so far, in pieces (possibly none). */
  async push(data: Uint8Array): Promise<Uint8Array[]> {
    let off = 0;
    if (this.key === null) {
      const n = Math.min(PAYLOAD_NONCE_BYTES - this.nonceFilled, data.length);
      this.nonce.set(data.subarray(0, n), this.nonceFilled);
      this.nonceFilled += n;
      off = n;
      if (this.nonceFilled < PAYLOAD_NONCE_BYTES) return [];
      this.key = await payloadKey(this.fileKey, this.nonce);
    }
    const out: Uint8Array[] = [];
    while (off < data.length) {
      if (this.filled === SEALED_CHUNK_BYTES) out.push(await this.open(false));
      const n = Math.min(SEALED_CHUNK_BYTES - this.filled, data.length - off);
      this.pending.set(data.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
    }
    return out;
  }

  /** Opens the last chunk; throws AgeFormatError if the payload stopped early. */
  async end(): Promise<Uint8Array> {
    if (this.key === null || this.filled < TAG_BYTES) throw new AgeFormatError("encrypted payload is truncated");
    return this.open(true);
  }
}

/**
 * A stream transform from a whole age file to its plaintext, given the file
 * key already unwrapped from its `headerBytes`-long header (which it skips).
 */
export function decryptTransform(fileKey: Uint8Array, headerBytes: number): Transform {
  const dec = new PayloadDecrypter(fileKey);
  let skip = headerBytes;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const n = Math.min(skip, chunk.length);
      skip -= n;
      dec.push(n ? chunk.subarray(n) : chunk).then((pieces) => {
        for (const piece of pieces) this.push(piece);
        done();
      }, done);
    },
    flush(done) {
      dec.end().then((last) => done(null, last.length ? last : undefined), done);
    },
  });
}
