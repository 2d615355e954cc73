/**
 * A pack written by PackWriter reads back with readPack, and without sqlbak:
 * `zstd -d` (after `age -d` when encrypted) prints its pages in entry order.
 * Damage anywhere (a flipped byte, a cut, a wrong checksum, the wrong key)
 * stops readPack with an error naming the pack.
 */
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decryptBytes, generateIdentity, parseIdentity } from "../../src/age/index.ts";
import { sealerFor } from "../../src/lib/codec/index.ts";
import { PACK_FILE_RE, PACK_INDEX_RE } from "../../src/lib/model/index.ts";
import {
  decodePackIndex,
  type FinishedPack,
  idAt,
  keyFingerprint,
  PackKeyError,
  PackWriter,
  PageFormatError,
  pageId,
  pagesPerFrame,
  type ReadPackOptions,
  readPack,
} from "../../src/lib/pages/index.ts";
import { tempDir } from "../helpers/tmp.ts";

const KEY = randomBytes(32);
const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

function run(cmd: string[]): Buffer {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** `n` pages: mostly random, some zeroed, some repeating a text, so frames compress unevenly. */
function makePages(n: number, pageSize: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    if (i % 7 === 3) return new Uint8Array(pageSize);
    if (i % 5 === 1) return new Uint8Array(Buffer.alloc(pageSize, `row ${i} of a table, `));
    return new Uint8Array(randomBytes(pageSize));
  });
}

async function writePack(
  dir: string,
  pages: Uint8Array[],
  pageSize: number,
  extra: { seal?: () => Promise<import("../../src/lib/codec/index.ts").StoredFilter> } = {},
): Promise<FinishedPack> {
  const w = await PackWriter.create(dir, { pageSize, level: 3, idKey: KEY, ...extra });
  for (const [k, page] of pages.entries()) expect(await w.add(page)).toBe(k);
  return w.finish();
}

async function readAll(path: string, opts: ReadPackOptions): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const { entry, page } of readPack(path, opts)) {
    expect(entry).toBe(out.length);
    out.push(page.slice());
  }
  return out;
}

/** The error readAll ends with, or null. */
async function readError(path: string, opts: ReadPackOptions): Promise<unknown> {
  try {
    await readAll(path, opts);
  } catch (err) {
    return err;
  }
  return null;
}

function optsFor(p: FinishedPack, pageSize: number, extra: Partial<ReadPackOptions> = {}): ReadPackOptions {
  return { pageSize, pagesPerFrame: pagesPerFrame(pageSize), sha256: p.sha256, size: p.size, ...extra };
}

describe("PackWriter → readPack, unencrypted", () => {
  const pageSize = 4096;
  // 600 pages at 256 per frame: two full frames and a short last one.
  const pages = makePages(600, pageSize);

  it("writes the pack and its index under their final names only, and reads every page back in order", async () => {
    const dir = tempDir();
    const p = await writePack(dir, pages, pageSize);
    expect(p.name).toMatch(PACK_FILE_RE);
    expect(p.name).toBe(`${p.stem}.zst`);
    expect(p.indexName).toBe(`${p.stem}.idx`);
    expect(p.indexName).toMatch(PACK_INDEX_RE);
    expect(readdirSync(dir).sort()).toEqual([p.indexName, p.name].sort());
    expect(statSync(join(dir, p.name)).mode & 0o777).toBe(0o600);
    const stored = readFileSync(join(dir, p.name));
    expect(p.size).toBe(stored.length);
    expect(p.sha256).toBe(sha256(stored));
    expect(p.entries).toBe(600);
    const back = await readAll(join(dir, p.name), optsFor(p, pageSize, { entries: 600 }));
    expect(back.length).toBe(600);
    for (const [k, page] of pages.entries()) expect(Buffer.from(back[k]!).equals(page)).toBe(true);
  });

  it("indexes every entry's id, the key's fingerprint and where each frame starts", async () => {
    const dir = tempDir();
    const p = await writePack(dir, pages, pageSize);
    const idx = decodePackIndex(readFileSync(join(dir, p.indexName)), p.indexName);
    expect(idx.pageSize).toBe(pageSize);
    expect(idx.pagesPerFrame).toBe(256);
    expect(Buffer.from(idx.keyFingerprint).equals(keyFingerprint(KEY))).toBe(true);
    for (const [k, page] of pages.entries()) expect(Buffer.from(idAt(idx, k)).equals(pageId(KEY, page))).toBe(true);
    const stored = readFileSync(join(dir, p.name));
    expect(idx.frameOffsets.length).toBe(3);
    const ends = [...idx.frameOffsets.slice(1), stored.length];
    for (const [i, off] of idx.frameOffsets.entries()) {
      // each frame alone decompresses to its own pages
      const raw = Bun.zstdDecompressSync(stored.subarray(off, ends[i]));
      expect(Buffer.from(raw).equals(Buffer.concat(pages.slice(i * 256, (i + 1) * 256)))).toBe(true);
    }
  });

  it("`zstd -d` of the pack prints exactly the pages concatenated", async () => {
    const dir = tempDir();
    const p = await writePack(dir, pages, pageSize);
    expect(run(["zstd", "-d", "-q", "-c", join(dir, p.name)]).equals(Buffer.concat(pages))).toBe(true);
  });

  it.each([512, 65536])("round-trips %d-byte pages", async (size) => {
    const dir = tempDir();
    const some = makePages(size === 512 ? 5000 : 40, size);
    const p = await writePack(dir, some, size);
    const back = await readAll(join(dir, p.name), optsFor(p, size));
    expect(Buffer.concat(back).equals(Buffer.concat(some))).toBe(true);
    expect(decodePackIndex(readFileSync(join(dir, p.indexName))).frameOffsets.length).toBe(3);
  });

  it("is full at the first frame boundary past 32 MiB of raw pages", async () => {
    const dir = tempDir();
    const w = await PackWriter.create(dir, { pageSize: 65536, level: 1, idKey: KEY });
    const page = new Uint8Array(65536).fill(7);
    for (let i = 0; i < 511; i++) await w.add(page);
    expect(w.isFull()).toBe(false);
    await w.add(page);
    expect(w.isFull()).toBe(true);
    await w.add(page);
    expect(w.isFull()).toBe(false); // mid-frame: not a place to close the pack
    const p = await w.finish();
    expect(p.entries).toBe(513);
  });

  it("leaves nothing behind when aborted, and refuses to finish an empty pack", async () => {
    const dir = tempDir();
    const w = await PackWriter.create(dir, { pageSize, level: 3, idKey: KEY });
    await w.add(pages[0]!);
    expect(readdirSync(dir)).toHaveLength(1); // the temporary file
    expect(readdirSync(dir)[0]).toMatch(/^\.pack-.*\.zst\.[0-9a-f]{8}\.tmp$/);
    await w.abort();
    expect(readdirSync(dir)).toEqual([]);
    const empty = await PackWriter.create(dir, { pageSize, level: 3, idKey: KEY });
    await expect(empty.finish()).rejects.toThrow(`pack ${empty.stem} has no pages`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("streams: frames reach the disk while pages are still being added", async () => {
    const dir = tempDir();
    const w = await PackWriter.create(dir, { pageSize, level: 3, idKey: KEY });
    // 6 frames of 256 pages: at most 4 compress at once, so the first ones must be written by now
    for (let i = 0; i < 6 * 256; i++) await w.add(pages[i % pages.length]!);
    const [temp] = readdirSync(dir);
    expect(statSync(join(dir, temp!)).size).toBeGreaterThan(0);
    await w.abort();
  });

  it("refuses a page of the wrong size", async () => {
    const w = await PackWriter.create(tempDir(), { pageSize, level: 3, idKey: KEY });
    await expect(w.add(new Uint8Array(1024))).rejects.toThrow("page of 1024 bytes added to a pack of 4096-byte pages");
    await w.abort();
  });
});

describe("readPack refuses a damaged pack, naming it", () => {
  const pageSize = 4096;
  const pages = makePages(600, pageSize);

  /** A pack whose stored bytes were then changed by `damage`. */
  async function damagedPack(damage: (path: string, p: FinishedPack) => void) {
    const dir = tempDir();
    const p = await writePack(dir, pages, pageSize);
    const path = join(dir, p.name);
    damage(path, p);
    return { path, p };
  }

  function flipByte(path: string, at: number): void {
    const bytes = readFileSync(path);
    bytes[at]! ^= 0x40;
    writeFileSync(path, bytes);
  }

  it.each([
    ["the first frame's header", () => 4],
    ["the middle of the pack", (p: FinishedPack) => Math.floor(p.size / 2)],
    ["the last byte", (p: FinishedPack) => p.size - 1],
  ])("a flipped byte in %s", async (_where, at) => {
    const { path, p } = await damagedPack((path, p) => flipByte(path, at(p)));
    const err = await readError(path, optsFor(p, pageSize));
    expect(err).toBeInstanceOf(PageFormatError);
    expect((err as Error).message).toStartWith(`pack ${p.name} is damaged: `);
  });

  it("a flipped byte inside stored (incompressible) page data, which only the SHA-256 catches", async () => {
    // random pages are stored as raw zstd blocks: a flipped byte there still decompresses
    const { path, p } = await damagedPack((path) => {
      const stored = readFileSync(path);
      const at = stored.indexOf(Buffer.from(pages[0]!.subarray(1000, 1032)));
      expect(at).toBeGreaterThan(0);
      flipByte(path, at);
    });
    const err = await readError(path, optsFor(p, pageSize));
    expect((err as Error).message).toMatch(
      new RegExp(
        `^pack ${p.name} is damaged: the SHA-256 of its stored bytes is [0-9a-f]{64}, the backup recorded ${p.sha256}$`,
      ),
    );
  });

  it("a pack cut inside a frame", async () => {
    const { path, p } = await damagedPack((path, p) => truncateSync(path, p.size - 100));
    const err = await readError(path, optsFor(p, pageSize));
    expect((err as Error).message).toMatch(
      new RegExp(`^pack ${p.name} is damaged: it ends inside frame 2 \\(\\d+ bytes of it\\): truncated$`),
    );
  });

  it("streams: a pack cut while it is being read fails where the cut is, after its whole frames", async () => {
    const dir = tempDir();
    const big = makePages(256 * 12, pageSize);
    const p = await writePack(dir, big, pageSize);
    let got = 0;
    const err = await (async () => {
      try {
        for await (const { entry, page } of readPack(join(dir, p.name), optsFor(p, pageSize))) {
          // cut the file once the first page is out: a reader that read it all first would not notice
          if (got === 0) truncateSync(join(dir, p.name), p.size - 100);
          expect(Buffer.from(page).equals(big[entry]!)).toBe(true);
          got++;
        }
      } catch (e) {
        return e;
      }
    })();
    expect((err as Error).message).toStartWith(`pack ${p.name} is damaged: it ends inside frame 11`);
    expect(got).toBe(256 * 11);
  });

  it("a pack cut at a frame boundary: the recorded size tells", async () => {
    const dir = tempDir();
    const p = await writePack(dir, pages, pageSize);
    const idx = decodePackIndex(readFileSync(join(dir, p.indexName)));
    truncateSync(join(dir, p.name), idx.frameOffsets[2]!);
    const err = await readError(join(dir, p.name), optsFor(p, pageSize));
    expect((err as Error).message).toBe(
      `pack ${p.name} is damaged: ${idx.frameOffsets[2]} bytes stored, the backup recorded ${p.size}`,
    );
  });

  it("a checksum the pack does not have", async () => {
    const { path, p } = await damagedPack(() => {});
    const err = await readError(path, optsFor(p, pageSize, { sha256: "0".repeat(64) }));
    expect((err as Error).message).toBe(
      `pack ${p.name} is damaged: the SHA-256 of its stored bytes is ${p.sha256}, ` +
        `the backup recorded ${"0".repeat(64)}`,
    );
  });

  it("an entry count other than its index's", async () => {
    const { path, p } = await damagedPack(() => {});
    const err = await readError(path, optsFor(p, pageSize, { entries: 601 }));
    expect((err as Error).message).toBe(`pack ${p.name} is damaged: it holds 600 entries, its index lists 601`);
  });

  it("a page size other than the pack's", async () => {
    const { path, p } = await damagedPack(() => {});
    const err = await readError(path, { ...optsFor(p, pageSize), pageSize: 65536, pagesPerFrame: 16 });
    // a full frame (1 MiB) is 16 such pages; the short last one (88 pages of 4 KiB) is not whole pages
    expect((err as Error).message).toBe(
      `pack ${p.name} is damaged: frame 2 holds ${88 * 4096} bytes, not 1 to 16 pages of 65536`,
    );
  });
});

describe("readPack decompressing only the frames asked for", () => {
  const pageSize = 4096;
  const pages = makePages(600, pageSize);
  const skipMiddle = (f: number) => f !== 1;

  it("yields the entries of the wanted frames only, each under its own entry number", async () => {
    const dir = tempDir();
    const p = await writePack(dir, pages, pageSize);
    const got: number[] = [];
    for await (const { entry, page } of readPack(join(dir, p.name), optsFor(p, pageSize, { wantFrame: skipMiddle }))) {
      expect(Buffer.from(page).equals(pages[entry]!)).toBe(true);
      got.push(entry);
    }
    expect(got).toEqual([
      ...Array.from({ length: 256 }, (_, i) => i),
      ...Array.from({ length: 88 }, (_, i) => 512 + i),
    ]);
  });

  it("still checks the stored bytes of a frame it does not decompress", async () => {
    const dir = tempDir();
    const p = await writePack(dir, pages, pageSize);
    const path = join(dir, p.name);
    const stored = readFileSync(path);
    // a random page of frame 1 is stored as a raw block: a flipped byte there is damage only the SHA-256 sees
    const at = stored.indexOf(Buffer.from(pages[300]!.subarray(1000, 1032)));
    const [start, end] = decodePackIndex(readFileSync(join(dir, p.indexName))).frameOffsets.slice(1, 3);
    expect(at).toBeGreaterThan(start!);
    expect(at).toBeLessThan(end!);
    stored[at]! ^= 0x40;
    writeFileSync(path, stored);
    const err = await (async () => {
      for await (const _ of readPack(path, optsFor(p, pageSize, { wantFrame: skipMiddle })));
    })().catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^pack ${p.name} is damaged: the SHA-256 of its stored bytes is [0-9a-f]{64}, the backup recorded ${p.sha256}$`,
      ),
    );
  });
});

describe("PackWriter → readPack, encrypted to recipients", () => {
  const pageSize = 4096;
  const pages = makePages(300, pageSize);
  const id = generateIdentity();
  const sealer = sealerFor({ type: "recipients", recipients: [id.recipient] })!;
  const keys = { identities: [parseIdentity(id.identity)] };

  it("names both files .age, reads back with the identity, and the index decrypts to the ids", async () => {
    const dir = tempDir();
    const p = await writePack(dir, pages, pageSize, { seal: sealer.create });
    expect(p.name).toBe(`${p.stem}.zst.age`);
    expect(p.indexName).toBe(`${p.stem}.idx.age`);
    expect(p.name).toMatch(PACK_FILE_RE);
    expect(p.indexName).toMatch(PACK_INDEX_RE);
    const stored = readFileSync(join(dir, p.name));
    expect(p.sha256).toBe(sha256(stored));
    expect(stored.subarray(0, 21).toString()).toBe("age-encryption.org/v1");
    const back = await readAll(join(dir, p.name), optsFor(p, pageSize, { keys }));
    expect(Buffer.concat(back).equals(Buffer.concat(pages))).toBe(true);
    const idx = decodePackIndex(await decryptBytes(readFileSync(join(dir, p.indexName)), keys));
    expect(Buffer.from(idAt(idx, 299)).equals(pageId(KEY, pages[299]!))).toBe(true);
    // frame offsets are in the compressed stream, inside the encryption
    const compressed = await decryptBytes(stored, keys);
    expect(idx.frameOffsets).toHaveLength(2);
    const second = Bun.zstdDecompressSync(compressed.subarray(idx.frameOffsets[1]!));
    expect(Buffer.from(second).equals(Buffer.concat(pages.slice(256)))).toBe(true);
  });

  it("`age -d -i key | zstd -d` prints exactly the pages concatenated", async () => {
    const dir = tempDir();
    const keyFile = join(dir, "key.txt");
    run(["age-keygen", "-o", keyFile]);
    const recipient = run(["age-keygen", "-y", keyFile]).toString().trim();
    const seal = sealerFor({ type: "recipients", recipients: [recipient] })!.create;
    const p = await writePack(dir, pages, pageSize, { seal });
    const out = run(["sh", "-c", `age -d -i '${keyFile}' '${join(dir, p.name)}' | zstd -d -q -c`]);
    expect(out.equals(Buffer.concat(pages))).toBe(true);
  });

  it("refuses a flipped byte (authentication) and the wrong key, naming the pack", async () => {
    const dir = tempDir();
    const p = await writePack(dir, pages, pageSize, { seal: sealer.create });
    const path = join(dir, p.name);
    const other = generateIdentity();
    const wrong = await readError(
      path,
      optsFor(p, pageSize, { keys: { identities: [parseIdentity(other.identity)] } }),
    );
    expect(wrong).toBeInstanceOf(PackKeyError);
    expect((wrong as Error).message).toStartWith(`cannot decrypt pack ${p.name}: no identity matches`);
    const none = await readError(path, optsFor(p, pageSize));
    expect((none as Error).message).toStartWith(`cannot decrypt pack ${p.name}: no identity matches`);
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 1;
    writeFileSync(path, bytes);
    const err = await readError(path, optsFor(p, pageSize, { keys }));
    expect(err).toBeInstanceOf(PageFormatError);
    expect((err as Error).message).toMatch(
      new RegExp(`^pack ${p.name} is damaged: encrypted payload chunk \\d+ failed authentication`),
    );
  });
});
