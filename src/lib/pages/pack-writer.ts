/**
 * Writes one pack and its index into a local folder, streaming. Pages are
 * grouped F per frame (pagesPerFrame), each frame compressed on its own on
 * Bun's thread pool (up to MAX_IN_FLIGHT at once) and written in order,
 * through the sealer when the backup is encrypted, to a temporary name; on
 * finish the pack is fsynced and renamed, then its index is written the same
 * way, each rename made durable by an fsync of the folder. Memory is a few
 * frames, whatever the pack's size.
 */
import { closeSync } from "node:fs";
import { join } from "node:path";
import { MAX_IN_FLIGHT, type StoredFilter, writeAllSync } from "../codec/index.ts";
import { newPackStem, packFileName, packIndexName } from "../model/index.ts";
import {
  FILE_MODE,
  fsyncAsync,
  openAsync,
  removeQuietly,
  renameAsync,
  tempPathFor,
  writeFileAtomicAsync,
} from "../system/index.ts";
import { type SealKey, seal as sealBytes } from "./id-seal.ts";
import { isValidPageSize, PACK_TARGET_RAW_BYTES, pagesPerFrame } from "./layout.ts";
import { encodePackIndex } from "./pack-index.ts";
import { keyFingerprint, PAGE_ID_BYTES, pageId } from "./page-id.ts";

export interface PackWriterOptions {
  pageSize: number;
  /** zstd level of every frame. */
  level: number;
  /** The id key: ids of pages added without one are made with it, and the index records its fingerprint. */
  idKey: Uint8Array;
  /** Encryption of the pack (a fresh age encrypter per call); absent: stored plain. */
  seal?: () => Promise<StoredFilter>;
  /**
   * The key the index is sealed with (indexKey of the id key): the index is then
   * `<stem>.idx.sealed`, readable with the id key alone. Without it an encrypted
   * pack's index is an age file through `seal` (`<stem>.idx.age`). Either both
   * files are encrypted or neither.
   */
  indexKey?: SealKey;
  /** When the pack is started (its name's timestamp); now by default. */
  startedAt?: Date;
  /** Raw bytes at which isFull() says to finish the pack (at a frame boundary); PACK_TARGET_RAW_BYTES by default. */
  targetRawBytes?: number;
}

export interface FinishedPack {
  /** `pack-<ts>-<16 hex>`, shared by the pack and its index. */
  stem: string;
  /** The pack's file name in the folder. */
  name: string;
  /** Stored bytes of the pack (after encryption). */
  size: number;
  /** SHA-256 of the stored bytes, hex. */
  sha256: string;
  entries: number;
  indexName: string;
  indexSize: number;
}

interface Frame {
  buf: Uint8Array;
  out: Promise<Uint8Array>;
}

/**
 * Frame buffers left by finished packs, for the next pack of the same page
 * size: a backup that writes many packs allocates a few, not a few a pack.
 */
const spareFrames: Uint8Array[] = [];
const MAX_SPARE_FRAMES = MAX_IN_FLIGHT + 2;

function takeFrame(bytes: number): Uint8Array {
  const i = spareFrames.findIndex((f) => f.length === bytes);
  return i < 0 ? new Uint8Array(bytes) : spareFrames.splice(i, 1)[0]!;
}

function giveFrame(buf: Uint8Array): void {
  if (spareFrames.length < MAX_SPARE_FRAMES) spareFrames.push(buf);
}

export class PackWriter {
  readonly stem: string;
  readonly pagesPerFrame: number;
  private readonly encrypted: boolean;
  /** The entries' ids, 16 bytes each, grown by doubling. */
  private ids = new Uint8Array(1024 * PAGE_ID_BYTES);
  private readonly frameOffsets: number[] = [];
  private readonly inFlight: Frame[] = [];
  private frame: Uint8Array;
  private inFrame = 0;
  private count = 0;
  private compressedBytes = 0;
  private storedBytes = 0;
  private readonly storedHash = new Bun.CryptoHasher("sha256");
  private state: "open" | "finished" | "aborted" = "open";

  private constructor(
    private readonly dir: string,
    private readonly opts: PackWriterOptions,
    private readonly tempPath: string,
    private fd: number | null,
    private readonly filter: StoredFilter | null,
    stem: string,
  ) {
    this.stem = stem;
    this.encrypted = filter !== null;
    this.pagesPerFrame = pagesPerFrame(opts.pageSize);
    this.frame = takeFrame(this.pagesPerFrame * opts.pageSize);
  }

  /** Starts a pack in `dir` (which must exist): a temporary file, created 0600, until finish(). */
  static async create(dir: string, opts: PackWriterOptions): Promise<PackWriter> {
    if (!isValidPageSize(opts.pageSize)) throw new RangeError(`page size ${opts.pageSize} is not a SQLite page size`);
    keyFingerprint(opts.idKey); // checks the key before anything is written
    if (opts.indexKey && !opts.seal) throw new Error("a sealed pack index needs an encrypted pack");
    const filter = opts.seal ? await opts.seal() : null;
    const stem = newPackStem(opts.startedAt ?? new Date());
    const tempPath = tempPathFor(join(dir, packFileName(stem, filter !== null)));
    const fd = await openAsync(tempPath, "wx", FILE_MODE);
    return new PackWriter(dir, opts, tempPath, fd, filter, stem);
  }

  /** Entries added so far. */
  get entries(): number {
    return this.count;
  }

  /** True once the pack holds at least its target raw bytes and ends at a frame boundary: time to finish it. */
  isFull(): boolean {
    const target = this.opts.targetRawBytes ?? PACK_TARGET_RAW_BYTES;
    return this.count * this.opts.pageSize >= target && this.inFrame === 0;
  }

  /**
   * Appends a page (copied; the caller may reuse its buffer) and returns its
   * entry index. `id` is the page's id when the caller has it already.
   * Waits while MAX_IN_FLIGHT frames are compressing.
   */
  async add(page: Uint8Array, id?: Uint8Array): Promise<number> {
    if (this.state !== "open") throw new Error(`pack ${this.stem} is ${this.state}`);
    if (page.length !== this.opts.pageSize)
      throw new RangeError(`page of ${page.length} bytes added to a pack of ${this.opts.pageSize}-byte pages`);
    const pid = id ?? pageId(this.opts.idKey, page);
    if (pid.length !== PAGE_ID_BYTES) throw new RangeError(`a page id is ${PAGE_ID_BYTES} bytes, got ${pid.length}`);
    if ((this.count + 1) * PAGE_ID_BYTES > this.ids.length) {
      const grown = new Uint8Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids.set(pid, this.count * PAGE_ID_BYTES);
    this.frame.set(page, this.inFrame * this.opts.pageSize);
    this.inFrame++;
    const entry = this.count++;
    if (this.inFrame === this.pagesPerFrame) await this.closeFrame();
    return entry;
  }

  private async closeFrame(): Promise<void> {
    if (this.inFrame === 0) return;
    const buf = this.frame;
    const out = Bun.zstdCompress(buf.subarray(0, this.inFrame * this.opts.pageSize), { level: this.opts.level });
    out.catch(() => {}); // a failure surfaces in order, in writeNext, not as an unhandled rejection meanwhile
    this.inFlight.push({ buf, out });
    this.frame = takeFrame(buf.length);
    this.inFrame = 0;
    if (this.inFlight.length >= MAX_IN_FLIGHT) await this.writeNext();
  }

  private store(piece: Uint8Array): void {
    this.storedHash.update(piece);
    writeAllSync(this.fd!, piece, this.storedBytes);
    this.storedBytes += piece.length;
  }

  private async writeNext(): Promise<void> {
    const { buf, out } = this.inFlight.shift()!;
    const compressed = await out;
    this.frameOffsets.push(this.compressedBytes);
    this.compressedBytes += compressed.length;
    for (const piece of this.filter ? await this.filter.push(compressed) : [compressed]) this.store(piece);
    giveFrame(buf);
  }

  /**
   * Compresses what is left, fsyncs the pack and renames it to its final name,
   * then writes its index (fsync, rename, one folder fsync for both renames):
   * both are durable when it returns. Throws for a pack with no entries. A failure before the
   * pack's rename removes its temporary file; one while writing the index
   * leaves the pack without an index: unreferenced, so freed like any
   * leftover, and still readable without it.
   */
  async finish(): Promise<FinishedPack> {
    if (this.state !== "open") throw new Error(`pack ${this.stem} is ${this.state}`);
    if (this.count === 0) {
      await this.abort();
      throw new Error(`pack ${this.stem} has no pages`);
    }
    const name = packFileName(this.stem, this.encrypted);
    const indexName = packIndexName(this.stem, !this.encrypted ? "plain" : this.opts.indexKey ? "sealed" : "age");
    try {
      await this.closeFrame();
      while (this.inFlight.length > 0) await this.writeNext();
      for (const piece of this.filter ? await this.filter.end() : []) this.store(piece);
      await fsyncAsync(this.fd!);
      closeSync(this.fd!);
      this.fd = null;
      // Durable with the index's rename: one folder fsync covers both (same folder). Until a manifest
      // references it, a pack or index lost by a crash is an unreferenced piece (docs/format.md).
      await renameAsync(this.tempPath, join(this.dir, name));
    } catch (err) {
      await this.abort();
      throw err;
    }
    this.state = "finished";
    giveFrame(this.frame);
    const index = await this.indexBytes();
    await writeFileAtomicAsync(join(this.dir, indexName), index);
    return {
      stem: this.stem,
      name,
      size: this.storedBytes,
      sha256: this.storedHash.digest("hex"),
      entries: this.count,
      indexName,
      indexSize: index.length,
    };
  }

  private async indexBytes(): Promise<Uint8Array> {
    const ids = this.ids.subarray(0, this.count * PAGE_ID_BYTES);
    const plain = encodePackIndex({
      pageSize: this.opts.pageSize,
      pagesPerFrame: this.pagesPerFrame,
      keyFingerprint: keyFingerprint(this.opts.idKey),
      ids,
      frameOffsets: this.frameOffsets,
    });
    if (!this.encrypted) return plain;
    if (this.opts.indexKey) return sealBytes(this.opts.indexKey, plain);
    const f = await this.opts.seal!();
    return Buffer.concat([...(await f.push(plain)), ...(await f.end())]);
  }

  /** Drops an unfinished pack: waits for its frames, closes and removes the temporary file. Safe to call twice. */
  async abort(): Promise<void> {
    if (this.state === "finished") return;
    this.state = "aborted";
    await Promise.allSettled(this.inFlight.splice(0).map((f) => f.out));
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    removeQuietly(this.tempPath);
  }
}
