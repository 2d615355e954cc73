/**
 * The page-level snapshot under fire: a writer commits as fast as it can (each
 * commit bumps counter.n and adds one 'writer' row), another client
 * checkpoints and restarts the WAL, the database grows, shrinks and is
 * vacuumed, and every snapshot must still be one committed state that passes
 * integrity_check and decompresses with the zstd CLI.
 */
import { describe, expect, it } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { takePageSnapshot } from "../../src/lib/snapshot-pages.ts";
import { integrityCheck, makeDatabase, queryAll } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const HELPERS = join(import.meta.dir, "../helpers");

async function spawnHelper(script: string, args: string[]) {
  const proc = Bun.spawn(["bun", join(HELPERS, script), ...args], { stdout: "pipe", stderr: "pipe" });
  const reader = proc.stderr.getReader();
  await reader.read(); // "ready"
  reader.releaseLock();
  return {
    async stop(): Promise<Record<string, unknown>> {
      proc.kill("SIGTERM");
      const out = await new Response(proc.stdout).text();
      await proc.exited;
      return JSON.parse(out);
    },
  };
}

function createDb(path: string, pageSize: number, journalMode: "wal" | "delete", rows: number): string {
  const db = new Database(path, { create: true });
  db.run(`PRAGMA page_size = ${pageSize}`);
  db.run("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload BLOB)");
  db.close();
  return makeDatabase(path, { journalMode, rows, payloadBytes: 1024 });
}

function sha256(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

/** One snapshot into `dir`, checked: hashes, zstd CLI, integrity_check, one committed state. */
async function snapshotAndCheck(src: string, dir: string, i: number) {
  const raw = join(dir, `snap-${i}.db`);
  const stored = join(dir, `snap-${i}.db.zst`);
  const r = await takePageSnapshot(src, raw, stored, "zstd", 1);
  expect(r.rawSize).toBe(r.page_size * r.page_count);
  expect(sha256(raw)).toBe(r.rawSha256);
  expect(sha256(stored)).toBe(r.storedSha256);
  const unz = join(dir, `unz-${i}.db`);
  expect(Bun.spawnSync(["zstd", "-d", "-q", stored, "-o", unz]).exitCode).toBe(0);
  expect(sha256(unz)).toBe(r.rawSha256);
  expect(integrityCheck(raw)).toBe("ok");
  const { n } = queryAll(raw, "SELECT n FROM counter")[0] as { n: number };
  const { w, b } = queryAll(raw, "SELECT sum(name = 'writer') AS w, sum(name = 'bulk') AS b FROM items")[0] as { w: number | null; b: number | null };
  expect(w ?? 0).toBe(n);
  expect([0, 100]).toContain(b ?? 0);
  for (const p of [raw, stored, unz, `${raw}-wal`, `${raw}-shm`, `${unz}-wal`, `${unz}-shm`]) Bun.spawnSync(["rm", "-f", p]);
  return { n, walPages: r.wal_pages, journal: r.journal_mode };
}

/** Rows of every table, ordered: equal dumps mean equal content. */
function dump(path: string): string {
  const tables = queryAll(path, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") as { name: string }[];
  const h = new Bun.CryptoHasher("sha256");
  for (const { name } of tables) {
    for (const row of queryAll(path, `SELECT * FROM "${name}" ORDER BY rowid`)) {
      h.update(JSON.stringify(row, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v)));
    }
  }
  h.update(JSON.stringify(queryAll(path, "SELECT type, name, sql FROM sqlite_schema ORDER BY name")));
  return h.digest("hex");
}

const CASES = [
  { mode: "wal", pageSize: 4096, churn: "churn", checkpoints: true },
  { mode: "wal", pageSize: 512, churn: "vacuum", checkpoints: true },
  { mode: "wal", pageSize: 65536, churn: "churn", checkpoints: false },
  { mode: "wal", pageSize: 4096, churn: "vacuum", checkpoints: false },
  { mode: "delete", pageSize: 4096, churn: "churn", checkpoints: false },
  { mode: "delete", pageSize: 65536, churn: "vacuum", checkpoints: false },
] as const;

describe.each(CASES)("page snapshot under a busy writer: %o", ({ mode, pageSize, churn, checkpoints }) => {
  it("is always one committed state, whole, and matches VACUUM INTO when quiet", async () => {
    const dir = tempDir();
    const src = createDb(join(dir, "live.db"), pageSize, mode, 500);
    const writer = await spawnHelper("churn-writer.ts", [src, churn]);
    const ckpt = checkpoints ? await spawnHelper("checkpointer.ts", [src]) : null;
    const seen: number[] = [];
    let walPages = 0;
    let fileOnly = 0;
    for (let i = 0; i < 25; i++) {
      const s = await snapshotAndCheck(src, dir, i);
      expect(s.journal).toBe(mode);
      seen.push(s.n);
      walPages += s.walPages;
      if (s.walPages === 0) fileOnly++;
      await Bun.sleep(5);
    }
    const ck = await ckpt?.stop();
    const { commits, errors } = (await writer.stop()) as { commits: number; errors: string[] };
    expect(errors).toEqual([]);
    expect(commits).toBeGreaterThan(0);
    expect(new Set(seen).size).toBeGreaterThan(1); // the writer really moved during the snapshots
    if (mode === "wal" && !checkpoints) expect(walPages).toBeGreaterThan(0);
    if (ck) expect(ck.runs as number).toBeGreaterThan(0);
    console.log(`${mode}/${pageSize}/${churn}: commits=${commits} wal_pages=${walPages} file_only=${fileOnly} ckpt=${JSON.stringify(ck)}`);

    // Quiet now: the page snapshot and VACUUM INTO must hold the same content.
    const raw = join(dir, "quiet.db");
    await takePageSnapshot(src, raw, join(dir, "quiet.db.zst"), "zstd", 3);
    const ro = new Database(src, { readonly: true });
    ro.run("VACUUM INTO ?", [join(dir, "vacuum.db")]);
    ro.close();
    expect(dump(raw)).toBe(dump(join(dir, "vacuum.db")));
  }, 30_000);
});

describe("page snapshot of a database larger than every buffer", () => {
  it("streams 40 MiB with uncheckpointed WAL frames, memory staying flat", async () => {
    const dir = tempDir();
    const src = createDb(join(dir, "big.db"), 4096, "wal", 0);
    const holder = new Database(src); // keeps the WAL alive with frames not yet in the file
    holder.run("PRAGMA wal_autocheckpoint = 0");
    const ins = holder.prepare("INSERT INTO items (name, payload) VALUES ('big', randomblob(8192))");
    holder.transaction(() => {
      for (let i = 0; i < 5000; i++) ins.run();
    })();
    holder.run("UPDATE counter SET n = 0");
    const walBefore = Bun.file(`${src}-wal`).size;
    expect(walBefore).toBeGreaterThan(40 * 1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const raw = join(dir, "big-snap.db");
    const r = await takePageSnapshot(src, raw, join(dir, "big-snap.db.zst"), "zstd", 1);
    clearInterval(timer);
    expect(r.rawSize).toBeGreaterThan(40 * 1024 * 1024);
    expect(r.wal_pages).toBeGreaterThan(10_000);
    expect(integrityCheck(raw)).toBe("ok");
    expect(queryAll(raw, "SELECT count(*) AS c FROM items")).toEqual([{ c: 5000 }]);
    expect(Bun.file(`${src}-wal`).size).toBe(walBefore); // the source's WAL is untouched
    expect(peak - rssBefore).toBeLessThan(200 * 1024 * 1024);
    holder.close();
  }, 30_000);
});
