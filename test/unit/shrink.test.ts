import { describe, expect, it } from "bun:test";
import { detectShrink, SHRINK_FRACTION, SHRINK_MIN_PREVIOUS_BYTES } from "../../src/lib/model/shrink.ts";

const MiB = 1024 * 1024;
const ref = (size: number, empty = false) => ({ id: "app-20261122T050607123Z-0123abcd", size, empty });
const sample = (rawSize: number, pageCount = Math.ceil(rawSize / 4096), tableCount = 1) => ({
  rawSize,
  pageCount,
  tableCount,
});

describe("detectShrink", () => {
  it("uses the documented thresholds", () => {
    expect(SHRINK_FRACTION).toBe(0.1);
    expect(SHRINK_MIN_PREVIOUS_BYTES).toBe(MiB);
  });

  it("flags a fall below 10% of a previous backup of at least 1 MiB, and nothing at or above it", () => {
    expect(detectShrink(ref(10 * MiB), sample(MiB - 1))).toEqual({ previous_id: ref(0).id, previous_size: 10 * MiB });
    expect(detectShrink(ref(10 * MiB), sample(MiB))).toBeNull();
    expect(detectShrink(ref(MiB), sample(MiB / 10 - 1))).not.toBeNull();
    expect(detectShrink(ref(MiB - 1), sample(4096))).toBeNull();
  });

  it("flags an empty database (no bytes, no pages or no tables) after a non-empty one, whatever its size", () => {
    expect(detectShrink(ref(8192), sample(0, 0, 0))).not.toBeNull();
    expect(detectShrink(ref(8192), sample(4096, 1, 0))).not.toBeNull();
    expect(detectShrink(ref(8192), sample(4096, 1, 1))).toBeNull();
    expect(detectShrink(ref(0, true), sample(0, 0, 0))).toBeNull();
  });

  it("has nothing to compare the first backup with", () => {
    expect(detectShrink(null, sample(0, 0, 0))).toBeNull();
  });
});
