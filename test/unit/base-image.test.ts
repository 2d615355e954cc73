/** BaseImage answers, page by page in order, whether the base map holds a given pack entry there; a malformed map never matches. */
import { describe, expect, it } from "bun:test";
import { BaseImage } from "../../src/lib/backup/base-image.ts";

/** Runs as [firstPage, count, pack, firstEntry, stride] each. */
const base = (...runs: number[][]) => new BaseImage("b", "0".repeat(64), ["p0", "p1"], Uint32Array.from(runs.flat()));

describe("BaseImage", () => {
  it("follows stride-1 and stride-0 runs across packs", () => {
    const b = base([1, 3, 0, 10, 1], [4, 2, 1, 7, 0], [6, 1, 0, 0, 1]);
    const asked: [number, number][] = [
      [0, 10],
      [0, 11],
      [0, 12],
      [1, 7],
      [1, 7],
      [0, 0],
    ];
    expect(asked.map(([p, e]) => b.has(p, e))).toEqual([true, true, true, true, true, true]);
    expect(b.has(0, 1)).toBe(false); // past the last run
  });

  it("answers false for another entry or pack at a page", () => {
    expect(base([1, 2, 0, 5, 1]).has(0, 6)).toBe(false);
    expect(base([1, 2, 0, 5, 1]).has(1, 5)).toBe(false);
    const b = base([1, 2, 0, 5, 1]);
    expect(b.has(0, 5)).toBe(true);
    expect(b.has(0, 5)).toBe(false); // page 2 is entry 6
  });

  it("never matches a map whose runs leave a gap, start past page 1 or have another stride", () => {
    const gap = base([1, 1, 0, 0, 1], [3, 1, 0, 1, 1]);
    expect(gap.has(0, 0)).toBe(true);
    expect(gap.has(0, 1)).toBe(false);
    expect(base([2, 1, 0, 0, 1]).has(0, 0)).toBe(false);
    expect(base([0, 2, 0, 0, 1]).has(0, 1)).toBe(false);
    const stride2 = base([1, 2, 0, 0, 2]);
    expect(stride2.has(0, 0)).toBe(false);
    expect(base([1, 0, 0, 0, 1]).has(0, 0)).toBe(false);
  });
});
