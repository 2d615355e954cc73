/**
 * Where the pages of a pages backup go as the snapshot hands them over: each
 * page's keyed id is looked up among the pages already stored (known packs,
 * then this backup's own); a page found is referenced, any other is appended
 * to the current new pack, which is finished (made durable with its index)
 * once full. The map's runs are built as pages go. Only the packs the map
 * references are listed, in the order it first references them. The list
 * stays within the manifest's MAX_PACKS: new packs grow with the image
 * (packTargetRawBytes), and once the map references maxOldPacks stored packs,
 * a page found only in yet another one is stored again.
 */
import { join } from "node:path";
import type { StoredFilter } from "../codec/index.ts";
import { MAX_PACKS, type StoredPack } from "../model/index.ts";
import {
  type FinishedPack,
  indexKey,
  MapBuilder,
  NEW_PACKS_PER_IMAGE,
  PAGE_ID_BYTES,
  PackWriter,
  packTargetRawBytes,
  pageId,
  pagesPerFrame,
} from "../pages/index.ts";
import type { PageConsumer } from "../snapshot/index.ts";
import { removeQuietly } from "../system/index.ts";
import type { BaseImage } from "./base-image.ts";
import { DedupTable } from "./dedup.ts";
import { IdHasher } from "./id-hasher.ts";
import type { KnownPack } from "./known-packs.ts";

/** A stored pack of at most this share of a full pack's raw bytes is small (storesAgain). */
const SMALL_PACK_SHARE = 1 / 8;
/** Small packs fold only once more of them than this are stored (storesAgain). */
const MAX_SMALL_PACKS = 8;

/**
 * Images of at most this many raw bytes hash in this thread: the id worker's start-up (15-20 ms
 * on the 2-core VM measured) costs more than it saves below it (docs/performance.md).
 */
export const ID_WORKER_MIN_BYTES = 16 * 1024 * 1024;

/** Chunks of pages between two hints to the garbage collector (about 32 MiB of pages). */
const GC_EVERY_CHUNKS = 8;

export interface PageSinkOptions {
  folder: string;
  idKey: Uint8Array;
  /** zstd level of the packs' frames. */
  level: number;
  /** Encryption of new packs and their indexes; absent: stored plain. */
  seal?: () => Promise<StoredFilter>;
  /** Called once each new pack and its index are durable under their final names. */
  onStored?: (name: string) => void;
  /** Stored packs the map may reference at most; the rest of MAX_PACKS is for the new ones. */
  maxOldPacks?: number;
  /** Whether the ids and raw SHA-256 go to a worker: "auto" (default) above ID_WORKER_MIN_BYTES. */
  idWorker?: "auto" | "never" | "always";
  /** The stored image this one may equal (base-image.ts), looked up once the geometry is known. */
  base?: (geometry: { pageSize: number; pageCount: number }) => Promise<BaseImage | null>;
}

/** A pack the map may reference: one already stored, or one this backup writes (stored once finished). */
interface Candidate {
  stored: StoredPack | null;
  /** Its number in the manifest's list, or -1 while the map does not reference it. */
  ref: number;
}

export interface SinkResult {
  /** The map built (its runs kept compact; encode() gives its bytes). */
  map: MapBuilder;
  /** Every pack the map references, by its pack numbers; `new` on the ones this backup wrote. */
  packs: StoredPack[];
  /** Stored bytes of the new packs. */
  newBytes: number;
}

export class PageSink implements PageConsumer {
  private table = new DedupTable();
  private builder: MapBuilder | null = null;
  private candidates: Candidate[] = [];
  private refs: number[] = [];
  /** Stored packs (not this backup's) among refs. */
  private oldRefs = 0;
  private targetRawBytes = 0;
  private writer: PackWriter | null = null;
  private writerCandidate = -1;
  /** Packs finished by this backup (every attempt), removed by abort(). */
  private written: FinishedPack[] = [];
  /** Starts the snapshot's check: at this attempt's first page not stored yet. */
  private startCheck: () => void = () => {};
  /** This attempt's hasher, once consumePageSnapshot asked for it. */
  private ids: IdHasher | null = null;
  private pageSize = 0;
  private rawBytes = 0;
  /** For each candidate: 1 for a small stored pack, whose pages may be stored again (storesAgain). */
  private small = new Uint8Array(0);
  /** Pages of small packs this attempt stored again, and how many it may: one full pack's worth. */
  private movedPages = 0;
  private moveBudget = 0;
  /** Whether this attempt stored a page found in no pack. */
  private changed = false;
  /** Chunks taken by pages(), for the collector hint. */
  private chunks = 0;
  /** While every page so far is the base's page at its place: the base; else null. */
  private base: BaseImage | null = null;
  /** For each candidate, its pack number in the base's list, or -1. */
  private baseRefs: Int32Array = new Int32Array(0);

  constructor(
    private known: KnownPack[],
    private readonly opts: PageSinkOptions,
  ) {}

  async begin({
    pageSize,
    pageCount,
    startCheck,
  }: {
    pageSize: number;
    pageCount: number;
    startCheck?: () => void;
  }): Promise<void> {
    this.startCheck = startCheck ?? (() => {});
    const usable = this.known.filter(
      (k) => k.index.pageSize === pageSize && k.index.pagesPerFrame === pagesPerFrame(pageSize),
    );
    const entries = usable.reduce((n, k) => n + k.index.ids.length / PAGE_ID_BYTES, 0);
    this.table = new DedupTable(entries + pageCount);
    // A candidate's number is its pack number in the table.
    this.candidates = usable.map((k) => ({ stored: k.stored, ref: -1 }));
    for (const k of usable) this.table.addPack(k.index.ids);
    this.refs = [];
    this.oldRefs = 0;
    this.targetRawBytes = packTargetRawBytes(pageCount * pageSize);
    const smallEntries = (this.targetRawBytes * SMALL_PACK_SHARE) / pageSize;
    this.small = Uint8Array.from(usable, (k) => (k.index.ids.length / PAGE_ID_BYTES <= smallEntries ? 1 : 0));
    // A few small packs are what a small database or a quiet week leaves: they stay as they are.
    if (this.small.reduce((n, v) => n + v, 0) <= MAX_SMALL_PACKS) this.small.fill(0);
    this.moveBudget = this.targetRawBytes / pageSize;
    this.movedPages = 0;
    this.changed = false;
    this.ids = null;
    this.pageSize = pageSize;
    this.rawBytes = pageSize * pageCount;
    this.builder = new MapBuilder(pageSize);
    this.base = (await this.opts.base?.({ pageSize, pageCount })) ?? null;
    const inBase = new Map(this.base?.packNames.map((name, i) => [name, i]));
    this.baseRefs = Int32Array.from(this.candidates, (c) => inBase.get(c.stored!.name) ?? -1);
  }

  /** The base's raw SHA-256 while every page so far is its page at that place (see PageConsumer). */
  sameImage(): string | null {
    return this.base?.rawSha256 ?? null;
  }

  /** The manifest's number for candidate `c`, given on first use. */
  private refOf(c: number): number {
    const cand = this.candidates[c]!;
    if (cand.ref < 0) {
      cand.ref = this.refs.length;
      this.refs.push(c);
      if (cand.stored && !cand.stored.new) this.oldRefs++;
    }
    return cand.ref;
  }

  /** Whether the map may reference candidate `c`: always once it does, else while the stored packs it references fit. */
  private mayReference(c: number): boolean {
    const cand = this.candidates[c]!;
    const limit = this.opts.maxOldPacks ?? MAX_PACKS - NEW_PACKS_PER_IMAGE;
    return cand.ref >= 0 || !cand.stored || cand.stored.new === true || this.oldRefs < limit;
  }

  /**
   * Whether a page found in candidate `c` is stored again instead: `c` is a small
   * stored pack (SMALL_PACK_SHARE of a full one or less: what frequent backups of a
   * few changed pages leave) and more than MAX_SMALL_PACKS of those are stored (so a
   * small database's own pack is stored again only once in that many backups, not
   * every time), this backup has stored a page found nowhere already (so
   * a backup of an unchanged database still stores nothing, with or without a base
   * image), and it has moved fewer than its budget.
   * Small packs so fold into this backup's packs, and the packs a map references stop
   * growing by one a backup (each read and looked up by every later backup, and
   * opened by a restore).
   */
  private storesAgain(c: number): boolean {
    if (this.small[c] !== 1 || !this.changed || this.movedPages >= this.moveBudget) return false;
    this.movedPages++;
    return true;
  }

  /**
   * The raw SHA-256 and the last pages' ids on a worker thread (id-hasher.ts), one per attempt;
   * null for a small image (ID_WORKER_MIN_BYTES): every id and the hash are then made here.
   */
  hasher(): IdHasher | null {
    const use = this.opts.idWorker ?? "auto";
    if (use === "never" || (use === "auto" && this.rawBytes <= ID_WORKER_MIN_BYTES)) return null;
    this.ids = new IdHasher(this.opts.idKey, this.pageSize);
    return this.ids;
  }

  async pages(buf: Uint8Array, firstPage: number, pageSize: number): Promise<void> {
    const n = buf.length / pageSize;
    const part = this.ids?.idsOf(buf) ?? null;
    const mine = part?.from ?? n;
    let theirs: Uint8Array | null = null;
    const table = this.table;
    for (let i = 0; i < n; i++) {
      if (i === mine && part) theirs = await part.ids;
      // No object a page where a page is found: after weeks of history that is nearly every one.
      const ids = theirs ?? pageId(this.opts.idKey, buf.subarray(i * pageSize, (i + 1) * pageSize));
      const off = theirs ? (i - mine) * PAGE_ID_BYTES : 0;
      const found = table.lookup(ids, off);
      const pack = found < 0 ? -1 : table.packOf(found);
      if (pack >= 0 && this.mayReference(pack) && !this.storesAgain(pack)) {
        const entry = table.entryOf(found, pack);
        this.builder!.add(firstPage + i, this.refOf(pack), entry);
        if (this.base && !this.base.has(this.baseRefs[pack] ?? -1, entry)) this.base = null;
        continue;
      }
      const page = buf.subarray(i * pageSize, (i + 1) * pageSize);
      const id = ids.subarray(off, off + PAGE_ID_BYTES);
      if (pack < 0) this.changed = true;
      this.base = null;
      this.startCheck();
      const w = this.writer ?? (await this.startPack(pageSize));
      const entry = await w.add(page, id);
      // A page stored again (a small pack's, or past the pack cap) is found here from now on.
      if (this.table.append(id, pack >= 0) !== entry)
        throw new Error("page sink: the dedup table and the pack disagree on an entry");
      this.builder!.add(firstPage + i, this.refOf(this.writerCandidate), entry);
      if (w.isFull()) await this.finishPack();
    }
    this.ids?.mainDone();
    // The garbage of a chunk's lookups and pack frames, collected as it goes: at 5 GiB with weeks of
    // history a backup peaked at 320 MiB RSS without this hint, 260 MiB with it (docs/performance.md).
    if (++this.chunks % GC_EVERY_CHUNKS === 0) Bun.gc(false);
  }

  private async startPack(pageSize: number): Promise<PackWriter> {
    const { folder, idKey, level, seal } = this.opts;
    // An encrypted pack's index is sealed under the id key: the next backup reads it with the id key alone.
    const sealKey = seal ? indexKey(idKey) : undefined;
    this.writer = await PackWriter.create(folder, {
      pageSize,
      level,
      idKey,
      seal,
      indexKey: sealKey,
      targetRawBytes: this.targetRawBytes,
    });
    this.writerCandidate = this.table.openPack();
    if (this.writerCandidate !== this.candidates.length) throw new Error("page sink: pack numbers out of step");
    this.candidates.push({ stored: null, ref: -1 });
    return this.writer;
  }

  private async finishPack(): Promise<void> {
    const w = this.writer!;
    this.writer = null;
    const done = await w.finish();
    this.written.push(done);
    this.candidates[this.writerCandidate]!.stored = {
      name: done.name,
      size: done.size,
      sha256: done.sha256,
      new: true,
    };
    this.opts.onStored?.(done.name);
    this.opts.onStored?.(done.indexName);
  }

  /** Finishes the open pack; every pack the map references is then durable. */
  async finish(): Promise<SinkResult> {
    if (!this.builder) throw new Error("page sink: no pages were given");
    if (this.writer) await this.finishPack();
    const packs = this.refs.map((c) => this.candidates[c]!.stored!);
    const newBytes = packs.reduce((n, p) => n + (p.new ? p.size : 0), 0);
    // The stored ids and the table are done with: let them go before the map is encoded (it may be big too).
    this.known = [];
    this.table = new DedupTable();
    this.base = null;
    return { map: this.builder, packs, newBytes };
  }

  /** Drops this attempt: the open pack, and the packs it finished (no manifest references them). */
  async discard(): Promise<void> {
    await this.abort();
    this.builder = null;
  }

  /** Removes every pack (and index) this sink wrote: call only while no manifest references them. */
  async abort(): Promise<void> {
    const w = this.writer;
    this.writer = null;
    await w?.abort();
    for (const p of this.written.splice(0)) {
      removeQuietly(join(this.opts.folder, p.name));
      removeQuietly(join(this.opts.folder, p.indexName));
    }
  }
}
