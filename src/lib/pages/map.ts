/**
 * The page map of a pages backup: for every page 1..page_count, which pack
 * entry holds it, as runs. A run of `count` pages starting at `first_page`
 * takes entries `first_entry + i·stride` of pack `pack` (an index into the
 * manifest's `stored.packs`): stride 1 for pages stored one after another,
 * stride 0 for one page repeated (zeroed free pages). So an unchanged
 * database whose pages sit in a few packs in order maps to a few runs.
 * Layout (little-endian, before zstd and optional age): docs/format.md.
 */
import { ByteReader, ByteWriter, checkU32, isValidPageSize, PageFormatError } from "./layout.ts";

export const MAP_MAGIC = "SQLBKMAP";
export const MAP_VERSION = 1;
const HEADER_BYTES = 8 + 4 * 4;
const RUN_BYTES = 5 * 4;
/** Fields of a run in run columns (MapBuilder, decodeMapColumns), in the order the map's bytes hold them. */
const FIRST_PAGE = 0;
const COUNT = 1;
const PACK = 2;
const FIRST_ENTRY = 3;
const STRIDE = 4;
export const RUN_FIELDS = 5;
/** Runs a MapBuilder block holds (320 KiB). */
const BLOCK_RUNS = 16 * 1024;

export interface PageRun {
  firstPage: number;
  count: number;
  /** Index into the manifest's `stored.packs`. */
  pack: number;
  firstEntry: number;
  /** 1: consecutive entries; 0: the same entry for every page of the run. */
  stride: 0 | 1;
}

export interface PageMap {
  pageSize: number;
  pageCount: number;
  runs: PageRun[];
}

/** Problems of a map's runs against its page count, or [] (shared by encode and decode). */
function runProblems(map: PageMap): string[] {
  if (!isValidPageSize(map.pageSize)) return [`page size ${map.pageSize} is not a power of two from 512 to 65536`];
  let next = 1;
  for (const [i, r] of map.runs.entries()) {
    if (r.firstPage !== next) return [`run ${i} starts at page ${r.firstPage}, expected ${next}`];
    if (r.count < 1) return [`run ${i} is empty`];
    if (r.stride !== 0 && r.stride !== 1) return [`run ${i} has stride ${r.stride} (only 0 and 1 exist)`];
    if (r.stride === 1 && r.firstEntry + r.count - 1 > 0xffffffff) return [`run ${i} runs past entry 2^32-1`];
    next += r.count;
  }
  if (next - 1 !== map.pageCount) return [`runs cover pages 1..${next - 1}, the map has ${map.pageCount} pages`];
  return [];
}

/**
 * The map's bytes (before compression). Throws RangeError for runs that do not cover 1..pageCount exactly once,
 * in order.
 */
export function encodeMap(map: PageMap): Uint8Array {
  checkU32(map.pageCount, "page count");
  for (const r of map.runs) {
    for (const k of ["firstPage", "count", "pack", "firstEntry"] as const) checkU32(r[k], k);
  }
  const problems = runProblems(map);
  if (problems.length > 0) throw new RangeError(`page map: ${problems[0]}`);
  const w = new ByteWriter(HEADER_BYTES + RUN_BYTES * map.runs.length);
  w.ascii(MAP_MAGIC);
  w.u32(MAP_VERSION);
  w.u32(map.pageSize);
  w.u32(map.pageCount);
  w.u32(map.runs.length);
  for (const r of map.runs) {
    w.u32(r.firstPage);
    w.u32(r.count);
    w.u32(r.pack);
    w.u32(r.firstEntry);
    w.u32(r.stride);
  }
  return w.bytes;
}

/**
 * Parses a map's bytes (after decompression), strictly: magic, version,
 * exact length, and runs covering pages 1..page_count exactly once, in order.
 * Pack numbers and entries are checked against the packs by validateMapPacks.
 * Throws PageFormatError naming `what` (the file) and the first problem.
 */
export function decodeMap(bytes: Uint8Array, what = "page map"): PageMap {
  const { pageSize, pageCount, runs: cols } = decodeMapColumns(bytes, what);
  const runs: PageRun[] = [];
  pushRuns(runs, cols, cols.length / RUN_FIELDS);
  const map = { pageSize, pageCount, runs };
  const problems = runProblems(map);
  if (problems.length > 0) throw new PageFormatError(`${what}: ${problems[0]}`);
  return map;
}

/** Appends to `runs` the first `count` runs of `cols` (run columns), as objects. */
function pushRuns(runs: PageRun[], cols: Uint32Array, count: number): void {
  for (let c = 0; c < count * RUN_FIELDS; c += RUN_FIELDS)
    runs.push({
      firstPage: cols[c + FIRST_PAGE]!,
      count: cols[c + COUNT]!,
      pack: cols[c + PACK]!,
      firstEntry: cols[c + FIRST_ENTRY]!,
      stride: cols[c + STRIDE] as 0 | 1,
    });
}

/**
 * A map's header and its runs as u32 columns (five a run, in the order its
 * bytes hold them), without an object a run: for reading a big map that is
 * walked once. Checks magic, version and length; the runs are the walker's
 * to check (BaseImage does). Throws PageFormatError naming `what`.
 */
export function decodeMapColumns(
  bytes: Uint8Array,
  what = "page map",
): { pageSize: number; pageCount: number; runs: Uint32Array } {
  const r = new ByteReader(bytes, what);
  r.magic(MAP_MAGIC);
  const version = r.u32();
  if (version !== MAP_VERSION) r.fail(`format version ${version} is not one this sqlbak reads (${MAP_VERSION})`);
  const pageSize = r.u32();
  const pageCount = r.u32();
  const runCount = r.u32();
  if (bytes.length !== HEADER_BYTES + RUN_BYTES * runCount)
    r.fail(`${runCount} runs need ${HEADER_BYTES + RUN_BYTES * runCount} bytes, the map has ${bytes.length}`);
  const runs = new Uint32Array(runCount * RUN_FIELDS);
  const view = new DataView(bytes.buffer, bytes.byteOffset + HEADER_BYTES, runs.length * 4);
  for (let k = 0; k < runs.length; k++) runs[k] = view.getUint32(k * 4, true);
  return { pageSize, pageCount, runs };
}

/**
 * Checks a decoded map against its packs: `entryCounts[i]` is the number of
 * entries of the manifest's i-th pack. Every run must name an existing pack
 * and stay within its entries. Throws PageFormatError naming `what`.
 */
export function validateMapPacks(map: PageMap, entryCounts: readonly number[], what = "page map"): void {
  for (const [i, r] of map.runs.entries()) {
    if (r.pack >= entryCounts.length)
      throw new PageFormatError(`${what}: run ${i} names pack ${r.pack}, the backup lists ${entryCounts.length} packs`);
    const last = r.firstEntry + (r.count - 1) * r.stride;
    if (last >= entryCounts[r.pack]!)
      throw new PageFormatError(
        `${what}: run ${i} needs entry ${last} of pack ${r.pack}, which has ${entryCounts[r.pack]} entries`,
      );
  }
}

/** The pack entry holding `page` (1-based) under `map`, or null outside the map. */
export function entryOf(map: PageMap, page: number): { pack: number; entry: number } | null {
  let lo = 0;
  let hi = map.runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = map.runs[mid]!;
    if (page < r.firstPage) hi = mid - 1;
    else if (page >= r.firstPage + r.count) lo = mid + 1;
    else return { pack: r.pack, entry: r.firstEntry + (page - r.firstPage) * r.stride };
  }
  return null;
}

/**
 * Builds the runs of a map from pages given in order 1, 2, 3, …: a page
 * extends the current run when it continues it (same pack, next entry for a
 * stride-1 run, same entry for a stride-0 one); a run of one page takes the
 * stride its second page implies. The runs are kept as u32 columns in blocks, 20 bytes
 * a run and no object each: after weeks of history nearly every page of a
 * large database may start a run of its own (consecutive pages in different
 * packs), and encode() writes the map's bytes straight from them.
 */
export class MapBuilder {
  /** Runs in blocks of BLOCK_RUNS, fields at r·5 … r·5+4; the last run of the last block is the current one. */
  private blocks: Uint32Array[] = [];
  /** Runs in the last block. */
  private lastRuns = 0;
  private runCount = 0;
  private nextPage = 1;

  constructor(private readonly pageSize: number) {
    if (!isValidPageSize(pageSize)) throw new RangeError(`page size ${pageSize} is not a SQLite page size`);
  }

  add(pageNo: number, pack: number, entry: number): void {
    if (pageNo !== this.nextPage) throw new RangeError(`page map: got page ${pageNo}, expected ${this.nextPage}`);
    checkU32(pack, "pack");
    checkU32(entry, "entry");
    this.nextPage++;
    const cols = this.blocks[this.blocks.length - 1];
    if (cols) {
      const c = (this.lastRuns - 1) * RUN_FIELDS;
      const count = cols[c + COUNT]!;
      const first = cols[c + FIRST_ENTRY]!;
      if (cols[c + PACK] === pack) {
        if (count === 1 && (entry === first || entry === first + 1)) {
          cols[c + STRIDE] = entry === first ? 0 : 1;
          cols[c + COUNT] = 2;
          return;
        }
        if (count > 1 && entry === first + count * cols[c + STRIDE]!) {
          cols[c + COUNT] = count + 1;
          return;
        }
      }
    }
    let block = cols;
    if (!block || this.lastRuns === BLOCK_RUNS) {
      // A new block, not a grown copy: no moment holds the runs twice.
      block = new Uint32Array(BLOCK_RUNS * RUN_FIELDS);
      this.blocks.push(block);
      this.lastRuns = 0;
    }
    const c = this.lastRuns++ * RUN_FIELDS;
    block[c + FIRST_PAGE] = pageNo;
    block[c + COUNT] = 1;
    block[c + PACK] = pack;
    block[c + FIRST_ENTRY] = entry;
    block[c + STRIDE] = 1;
    this.runCount++;
  }

  /** Each block with the number of runs it holds. */
  private *filled(): Generator<[Uint32Array, number]> {
    for (const [i, b] of this.blocks.entries()) yield [b, i === this.blocks.length - 1 ? this.lastRuns : BLOCK_RUNS];
  }

  /** Bytes its blocks hold. */
  get byteLength(): number {
    return this.blocks.reduce((n, b) => n + b.byteLength, 0);
  }

  /** Pages added so far: the map's page count. */
  get pageCount(): number {
    return this.nextPage - 1;
  }

  /** The map's bytes (before compression), as encodeMap(this.finish()) gives them. */
  encode(): Uint8Array {
    checkU32(this.pageCount, "page count");
    const w = new ByteWriter(HEADER_BYTES + RUN_BYTES * this.runCount);
    w.ascii(MAP_MAGIC);
    w.u32(MAP_VERSION);
    w.u32(this.pageSize);
    w.u32(this.pageCount);
    w.u32(this.runCount);
    for (const [cols, runs] of this.filled()) for (let k = 0; k < runs * RUN_FIELDS; k++) w.u32(cols[k]!);
    return w.bytes;
  }

  /** The map of the pages added so far, as objects (for tests and small maps; backups use encode()). */
  finish(): PageMap {
    const runs: PageRun[] = [];
    for (const [cols, count] of this.filled()) pushRuns(runs, cols, count);
    return { pageSize: this.pageSize, pageCount: this.pageCount, runs };
  }
}
