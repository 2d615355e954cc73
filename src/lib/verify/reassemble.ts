/**
 * Rebuilds the database image of a pages backup from its map and packs: each
 * pack the map references is streamed once (readPack checks its stored size
 * and SHA-256, and decompresses only the frames holding entries the map
 * needs), and every entry is written at each page position the map gives it,
 * into a temporary file of page_count × page_size bytes beside the target,
 * hashed in page order as it is written (OrderedImageHash). The image counts
 * only when its SHA-256 equals the manifest's raw SHA-256; then it is fsynced
 * and renamed into place. Layout: docs/format.md.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, writevSync } from "node:fs";
import { join } from "node:path";
import { AgeFormatError, AgeNoIdentityError, decryptBytes } from "../../age/index.ts";
import {
  ageKeysFor,
  type DecryptionKeys,
  WrongKeyError,
  writeAllSync,
  writeFailure,
  wrongKeyError,
} from "../codec/index.ts";
import { type ByteProgress, describeError, type Manifest, type StoredPages, storedPages } from "../model/index.ts";
import {
  decodeMap,
  openManifestMeta,
  PageFormatError,
  type PageMap,
  type PageRun,
  readLocalIdKey,
  readPack,
} from "../pages/index.ts";
import type { StoredBackup } from "../store/index.ts";
import { commitRename, FILE_MODE, removeQuietly, tempPathFor } from "../system/index.ts";
import { ReassemblyError } from "./damaged.ts";
import { OrderedImageHash } from "./image-hash.ts";
import { comparePiece } from "./pieces.ts";

/** Bytes of consecutive pages gathered before one write. */
const WRITE_BYTES = 4 * 1024 * 1024;
/** Pieces in one write at most (IOV_MAX on Linux and macOS). */
const WRITE_PIECES = 1024;

function damaged(m: Manifest, problem: string, pack: string | null = null): ReassemblyError {
  return new ReassemblyError(`backup ${m.id} cannot be reassembled: ${problem}`, [problem], pack);
}

/** The problem of a reassembled image whose SHA-256 is not the recorded one. */
export function reassembledShaProblem(sha256: string, m: Manifest): string {
  return `the reassembled image's SHA-256 ${sha256} is not the recorded ${m.raw.sha256}`;
}

/** Reads, checks (size, SHA-256), decrypts, decompresses and decodes the map of `m`. */
async function readMap(m: Manifest, pages: StoredPages, folderPath: string, keys: DecryptionKeys): Promise<PageMap> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(join(folderPath, pages.file));
  } catch (err) {
    throw damaged(m, `cannot read map file ${pages.file}: ${describeError(err)}`);
  }
  const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
  const problem = comparePiece({ size: bytes.length, sha256 }, `map file ${pages.file}`, pages);
  if (problem) throw damaged(m, problem);
  if (pages.encryption) {
    try {
      bytes = await decryptBytes(bytes, ageKeysFor(pages.encryption, keys));
    } catch (err) {
      if (err instanceof AgeNoIdentityError) throw wrongKeyError(m.id, pages.encryption, keys, err);
      if (err instanceof AgeFormatError) throw damaged(m, `map file ${pages.file}: ${err.message}`);
      throw err;
    }
  }
  let map: PageMap;
  try {
    map = decodeMap(Bun.zstdDecompressSync(bytes), pages.file);
  } catch (err) {
    throw damaged(m, err instanceof PageFormatError ? err.message : `map file ${pages.file}: ${describeError(err)}`);
  }
  if (map.pageSize !== pages.page_size || map.pageCount !== m.snapshot.page_count)
    throw damaged(m, `map file ${pages.file} describes other pages than the manifest`);
  if (m.raw.size !== map.pageCount * map.pageSize)
    throw damaged(m, `raw size ${m.raw.size} is not page_size × page_count`);
  return map;
}

/** For one pack: the pages of each entry (entry e's are pages[starts[e]..starts[e+1])), from its runs. */
function pagesByEntry(runs: PageRun[]): { starts: Uint32Array; pages: Uint32Array; lastEntry: number } {
  let lastEntry = 0;
  for (const r of runs) lastEntry = Math.max(lastEntry, r.firstEntry + (r.count - 1) * r.stride);
  const starts = new Uint32Array(lastEntry + 2);
  for (const r of runs) for (let j = 0; j < r.count; j++) starts[r.firstEntry + j * r.stride + 1]!++;
  for (let e = 1; e < starts.length; e++) starts[e]! += starts[e - 1]!;
  const fill = starts.slice(0, lastEntry + 1);
  const pages = new Uint32Array(starts[lastEntry + 1]!);
  for (const r of runs) for (let j = 0; j < r.count; j++) pages[fill[r.firstEntry + j * r.stride]!++] = r.firstPage + j;
  return { starts, pages, lastEntry };
}

/** Positional writes of pages, consecutive ones gathered into one write, each hashed in page order. */
class PageWriter {
  private first = 0;
  private views: Uint8Array[] = [];
  /** Bytes written so far (the image's size once every page is). */
  private written = 0;
  constructor(
    private readonly fd: number,
    private readonly pageSize: number,
    private readonly writing: (step: () => void) => void,
    private readonly hash: OrderedImageHash,
    private readonly onWritten?: (bytes: number) => void,
  ) {}
  put(page: number, bytes: Uint8Array): void {
    const next = this.first + this.views.length;
    if (
      this.views.length > 0 &&
      (page !== next || this.views.length * this.pageSize >= WRITE_BYTES || this.views.length >= WRITE_PIECES)
    )
      this.flush();
    if (this.views.length === 0) this.first = page;
    this.views.push(bytes);
  }
  flush(): void {
    if (this.views.length === 0) return;
    const views = this.views;
    this.writing(() => writeViewsSync(this.fd, views, (this.first - 1) * this.pageSize));
    this.hash.wrote(this.first, views);
    this.written += views.length * this.pageSize;
    this.onWritten?.(this.written);
    this.views = [];
  }
}

/** Writes `views` one after another at `position` in one call (no copy into one buffer), finishing a short write. */
function writeViewsSync(fd: number, views: Uint8Array[], position: number): void {
  const done = writevSync(fd, views, position);
  let off = 0;
  for (const v of views) {
    if (off + v.length > done) {
      const from = Math.max(0, done - off);
      writeAllSync(fd, v.subarray(from), position + off + from);
    }
    off += v.length;
  }
}

/** Streams pack `p` of the map into `out`, at every page the map gives its entries. */
async function placePack(
  m: Manifest,
  pages: StoredPages,
  folderPath: string,
  keys: DecryptionKeys,
  p: number,
  runs: PageRun[],
  out: PageWriter,
): Promise<void> {
  const pack = pages.packs[p]!;
  const { starts, pages: at, lastEntry } = pagesByEntry(runs);
  let seen = -1;
  try {
    const entries = readPack(join(folderPath, pack.name), {
      pageSize: pages.page_size,
      pagesPerFrame: pages.pages_per_frame,
      sha256: pack.sha256,
      size: pack.size,
      keys: pages.encryption ? ageKeysFor(pages.encryption, keys) : undefined,
      // Frames holding no entry the map needs are checked (stored bytes) but not decompressed.
      wantFrame: (f) => {
        const first = f * pages.pages_per_frame;
        if (first > lastEntry) return false;
        const end = Math.min(first + pages.pages_per_frame, lastEntry + 1);
        return starts[end]! > starts[first]!;
      },
    });
    for await (const { entry, page } of entries) {
      seen = entry;
      if (entry > lastEntry) continue;
      for (let i = starts[entry]!; i < starts[entry + 1]!; i++) out.put(at[i]!, page);
    }
  } catch (err) {
    if (err instanceof PageFormatError) throw damaged(m, err.message, pack.name);
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw damaged(m, `pack ${pack.name} is missing`, pack.name);
    throw err;
  }
  if (seen < lastEntry)
    throw damaged(
      m,
      `pack ${pack.name} is damaged: it holds ${seen + 1} entries, the map needs ${lastEntry + 1}`,
      pack.name,
    );
}

/**
 * Rebuilds the image of pages backup `backup` (its map and packs are in
 * `folderPath`) at `targetPath` (replaced only once the image is proven),
 * decrypting with `keys`. Throws ReassemblyError naming the backup (and
 * the pack, when one is damaged or missing) when the stored pieces are not
 * what the backup recorded or the image's SHA-256 differs from the
 * manifest's; WrongKeyError / PackKeyError when `keys` cannot open them.
 * With `sync: false` the image is renamed into place without an fsync, for a
 * caller that removes it or fsyncs it itself before it counts. With
 * `hashRaw: false` the image is not hashed (rawSha256 is null) and is renamed
 * into place unproven, for a caller that hashes it itself before it counts
 * (verify: hash-beside.ts). `packsRead` are the indexes of the packs read
 * (and so checked): those the map references. `onProgress` hears the bytes of
 * the image written so far, of its raw size.
 */
export async function reassemblePages(
  backup: StoredBackup,
  folderPath: string,
  keys: DecryptionKeys,
  targetPath: string,
  { sync = true, hashRaw = true, onProgress }: { sync?: boolean; hashRaw?: boolean; onProgress?: ByteProgress } = {},
): Promise<{ rawSize: number; rawSha256: string | null; packsRead: number[] }> {
  // An encrypted backup's raw SHA-256 is in its meta block: opened with the id key here, else with `keys`.
  const m = await openManifestMeta(backup.manifest, keys, readLocalIdKey(folderPath)).catch((err: unknown) => {
    throw err instanceof WrongKeyError ? err : damaged(backup.manifest, describeError(err));
  });
  const pages = storedPages(m);
  if (!pages) throw new Error(`backup ${m.id} is not a pages backup`);
  const map = await readMap(m, pages, folderPath, keys);
  const runsByPack: PageRun[][] = pages.packs.map(() => []);
  for (const r of map.runs) {
    if (r.pack >= pages.packs.length) throw damaged(m, `its map names pack ${r.pack}, it lists ${pages.packs.length}`);
    runsByPack[r.pack]!.push(r);
  }
  const temp = tempPathFor(targetPath);
  // Failing to write the image (a full disk, a read-only folder) is the machine's problem, not the backup's.
  const writing = <T>(step: () => T): T => {
    try {
      return step();
    } catch (err) {
      throw writeFailure(err, temp);
    }
  };
  const fd = writing(() => openSync(temp, "wx+", FILE_MODE));
  let closed = false;
  try {
    writing(() => ftruncateSync(fd, m.raw.size));
    const hash = new OrderedImageHash(fd, map.pageSize, map.pageCount, hashRaw);
    const out = new PageWriter(fd, map.pageSize, writing, hash, (done) => onProgress?.(done, m.raw.size));
    const packsRead: number[] = [];
    for (const [p, runs] of runsByPack.entries()) {
      if (runs.length === 0) continue;
      packsRead.push(p);
      await placePack(m, pages, folderPath, keys, p, runs, out);
      out.flush();
      // Each pack leaves up to 32 MiB of decompressed frames as garbage; on a busy machine the collector falls behind
      // (measured on 1 GiB: 170-203 MiB peak RSS for the reassembly alone, 157-173 with this hint, same CPU time).
      Bun.gc(false);
    }
    const rawSha256 = hash.digest();
    if (rawSha256 === null) throw damaged(m, "its map leaves pages of the image unwritten");
    if (hashRaw && rawSha256 !== m.raw.sha256) throw damaged(m, reassembledShaProblem(rawSha256, m));
    if (sync) writing(() => fsyncSync(fd));
    closeSync(fd);
    closed = true;
    if (sync) commitRename(temp, targetPath);
    else renameSync(temp, targetPath);
    // A GiB of decompressed frames passed through here; SQLite's check of the image comes next, with its own
    // 64 MiB cache. Measured on 1 GiB: restore peaked at 212-240 MiB RSS with that garbage still held, 170 without.
    Bun.gc(true);
    return { rawSize: m.raw.size, rawSha256: hashRaw ? rawSha256 : null, packsRead };
  } catch (err) {
    if (!closed) closeSync(fd);
    removeQuietly(temp);
    throw err;
  }
}
