import { describe, expect, it } from "bun:test";
import { SETTLE_MS, settledStamp } from "../../src/lib/store/settle.ts";

describe("settledStamp", () => {
  const start = Date.UTC(2026, 11, 6, 10, 0);
  it("trusts a time bucket only once it ended SETTLE_MS before the listing", () => {
    const end = start + 60_000;
    expect(settledStamp("sftp", "t", start, 60_000, end + SETTLE_MS - 1)).toBeUndefined();
    expect(settledStamp("sftp", "t", start, 60_000, end + SETTLE_MS)).toBe("sftp:t");
    // A day (an old file at SFTP) settles a day later; a time in the future never does.
    expect(settledStamp("sftp", "d", start, 86_400_000, end + SETTLE_MS)).toBeUndefined();
    expect(settledStamp("rclone", "x", start + 10 * SETTLE_MS, 1000, start)).toBeUndefined();
  });
  it("gives nothing for a time it cannot read", () => {
    expect(settledStamp("rclone", "bad", Number.NaN, 1000, Date.now())).toBeUndefined();
    expect(settledStamp("rclone", "zero", start, 0, Date.now())).toBeUndefined();
  });
});
