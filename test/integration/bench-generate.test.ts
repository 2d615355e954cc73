/** The benchmark's databases must be reproducible: the same size and seed give the same bytes. */
import { expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generateDatabase } from "../../bench/generate.ts";
import { integrityCheck, queryAll } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

it("generates byte-identical databases for one seed, and different ones for another", () => {
  const dir = tempDir();
  const [a, b, c] = ["a.db", "b.db", "c.db"].map((n) => join(dir, n)) as [string, string, string];
  const sizeA = generateDatabase(a, 2);
  expect(generateDatabase(b, 2)).toBe(sizeA);
  generateDatabase(c, 2, 7);
  expect(sizeA).toBeGreaterThanOrEqual(2 * 1024 * 1024);
  expect(sha256(a)).toBe(sha256(b));
  expect(sha256(a)).not.toBe(sha256(c));
  expect(integrityCheck(a)).toBe("ok");
  expect(queryAll(a, "PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
  const counts = queryAll(
    a,
    "SELECT (SELECT count(*) FROM users) AS u, " +
      "(SELECT count(*) FROM events) AS e, (SELECT count(*) FROM attachments) AS t",
  )[0] as Record<string, number>;
  expect(counts.u).toBeGreaterThan(0);
  expect(counts.e).toBe(counts.u! * 10);
  expect(counts.t).toBeGreaterThan(0);
});
