/**
 * The parallel compressor writes independent frames (zstd) or members (gzip)
 * in order; plain `zstd -d` / `gzip -d` must restore the exact input, and so
 * must our own streamed decompression. The input is larger than a chunk and
 * not a multiple of it, part random, part repetitive.
 */
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CHUNK_BYTES, compressFile, decompressFile } from "../../src/lib/codec/compress.ts";
import { decompressFrames, decompressStored, FrameLayoutError, frameLength } from "../../src/lib/codec/zstd-frames.ts";
import type { Compression } from "../../src/lib/model/constants.ts";
import { tempDir } from "../helpers/tmp.ts";

const sha256 = (data: Uint8Array) => new Bun.CryptoHasher("sha256").update(data).digest("hex");

function makeInput(path: string): Uint8Array {
  const data = new Uint8Array(2 * CHUNK_BYTES + 12_345);
  for (let i = 0; i < data.length; i++) data[i] = i % 3 === 0 ? (i * 2654435761) >>> 24 : i & 0x1f;
  writeFileSync(path, data);
  return data;
}

const CLI: Record<Compression, string[] | null> = {
  zstd: ["zstd", "-d", "-q", "-c"],
  gzip: ["gzip", "-d", "-c"],
  none: null,
};

describe.each(["zstd", "gzip", "none"] as const)("compressFile with %s", (codec) => {
  it("round-trips through the command-line tool and through decompressFile", async () => {
    const dir = tempDir();
    const input = makeInput(join(dir, "in.bin"));
    const stored = join(dir, "out");
    const sums = await compressFile(join(dir, "in.bin"), stored, codec, codec === "gzip" ? 6 : 3);
    const storedBytes = readFileSync(stored);
    expect(sums).toEqual({
      rawSize: input.length,
      rawSha256: sha256(input),
      storedSize: storedBytes.length,
      storedSha256: sha256(storedBytes),
    });
    if (codec !== "none") expect(storedBytes.length).toBeLessThan(input.length);
    const cli = CLI[codec];
    const viaCli = cli ? Bun.spawnSync([...cli, stored]).stdout : storedBytes;
    expect(sha256(viaCli)).toBe(sums.rawSha256);
    if (codec === "zstd") {
      // One independent frame per chunk: that is what lets every core compress at once.
      const listing = Bun.spawnSync(["zstd", "-l", stored]).stdout.toString();
      expect(listing.split("\n")[1]?.trim().split(/\s+/)[0]).toBe(String(Math.ceil(input.length / CHUNK_BYTES)));
    }
    const back = await decompressFile(stored, join(dir, "back.bin"), codec);
    expect(back).toEqual(sums);
    expect(sha256(readFileSync(join(dir, "back.bin")))).toBe(sums.rawSha256);
    expect(await decompressStored(stored, join(dir, "back2.bin"), codec)).toEqual(sums);
    if (codec === "zstd") expect(await decompressFrames(stored, join(dir, "back3.bin"))).toEqual(sums);
  });
});

describe("parallel frame decompression", () => {
  it("refuses a zstd stream without declared frame sizes, which decompressStored then streams", async () => {
    const dir = tempDir();
    const input = makeInput(join(dir, "in.bin"));
    const stored = join(dir, "piped.zst");
    // From a pipe the zstd CLI cannot know the size, so its frame declares none.
    Bun.spawnSync(["sh", "-c", `cat "${join(dir, "in.bin")}" | zstd -q -c > "${stored}"`]);
    await expect(decompressFrames(stored, join(dir, "a.bin"))).rejects.toBeInstanceOf(FrameLayoutError);
    const sums = await decompressStored(stored, join(dir, "b.bin"), "zstd");
    expect(sums.rawSha256).toBe(sha256(input));
  });

  it("refuses trailing bytes after the last frame", async () => {
    const dir = tempDir();
    makeInput(join(dir, "in.bin"));
    const stored = join(dir, "out.zst");
    await compressFile(join(dir, "in.bin"), stored, "zstd", 1);
    writeFileSync(stored, Buffer.concat([readFileSync(stored), Buffer.from("junk")]));
    await expect(decompressFrames(stored, join(dir, "a.bin"))).rejects.toBeInstanceOf(FrameLayoutError);
  });

  it("rejects a damaged frame as an error of the call, not an unhandled rejection that ends the process", async () => {
    // Regression: frames decompressing after the damaged one rejected with no handler attached yet, and Bun exited 1.
    const dir = tempDir();
    makeInput(join(dir, "in.bin"));
    const stored = join(dir, "out.zst");
    await compressFile(join(dir, "in.bin"), stored, "zstd", 1);
    const bytes = readFileSync(stored);
    // Frame 2 now declares one byte more content than it holds: zstd rejects it when decompressing.
    const second = frameLength(bytes, 0, bytes.length)!;
    const fhd = bytes[second + 4]!;
    expect(fhd >> 6).toBe(2); // a 4-byte content size, after the header byte and the window byte if any
    const at = second + 5 + ((fhd >> 5) & 1 ? 0 : 1);
    bytes.writeUInt32LE(bytes.readUInt32LE(at) + 1, at);
    writeFileSync(stored, bytes);
    await expect(decompressFrames(stored, join(dir, "a.bin"))).rejects.toThrow();
  });
});
