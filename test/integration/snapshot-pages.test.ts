/**
 * The page-level snapshot under fire: a writer commits as fast as it can (its
 * every state is a pure function of counter.n, see churn-writer.ts), another
 * client checkpoints and restarts the WAL, the database grows, shrinks and is
 * vacuumed, and every snapshot must still be one committed state: it passes
 * integrity_check, decompresses with the zstd CLI, and its `.dump` equals the
 * `.dump` of the state the writer had at that counter, rebuilt by replaying
 * the writer's commits on a VACUUM INTO copy of the starting database.
 */

import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decompressFile } from "../../src/lib/codec/compress.ts";
import { takePageSnapshot } from "../../src/lib/snapshot/pages.ts";
import type { ReaderChoice } from "../../src/lib/snapshot/readers.ts";
import { type ChurnMode, replayCommits } from "../helpers/churn-writer.ts";
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

/** The sqlite3 CLI's `.dump`: schema and every row as SQL text. */
function dump(path: string): string {
  const r = Bun.spawnSync(["sqlite3", "-readonly", path, ".dump"]);
  expect(r.exitCode).toBe(0);
  return r.stdout.toString();
}

function removeDb(path: string) {
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) Bun.spawnSync(["rm", "-f", p]);
}

/**
 * One snapshot, decompressed with the zstd CLI into `restored`
 * and checked: hashes, integrity_check, one committed state.
 */
async function snapshotAndCheck(src: string, dir: string, restored: string, reader: ReaderChoice) {
  const stored = join(dir, "snap.db.zst");
  const r = await takePageSnapshot(src, stored, { codec: "zstd", level: 1, check: "quick", reader });
  if (reader !== "auto") expect(r.reader).toBe(reader);
  expect(r.rawSize).toBe(r.page_size * r.page_count);
  expect(r.check).toEqual({ level: "quick", ok: true, result: "ok" });
  expect(sha256(stored)).toBe(r.storedSha256);
  expect(Bun.spawnSync(["zstd", "-d", "-q", stored, "-o", restored]).exitCode).toBe(0);
  removeDb(stored);
  expect(sha256(restored)).toBe(r.rawSha256);
  expect(integrityCheck(restored)).toBe("ok");
  const { n } = queryAll(restored, "SELECT n FROM counter")[0] as { n: number };
  const { w, b } = queryAll(restored, "SELECT sum(name = 'writer') AS w, sum(name = 'bulk') AS b FROM items")[0] as {
    w: number | null;
    b: number | null;
  };
  expect(w ?? 0).toBe(n);
  expect([0, 100]).toContain(b ?? 0);
  expect(r.facts.tables.items).toBe(
    queryAll(restored, "SELECT count(*) AS c FROM items").map((x) => (x as { c: number }).c)[0]!,
  );
  return { n, walPages: r.wal_pages, journal: r.journal_mode };
}

const SHAPES = [
  { mode: "wal", pageSize: 4096, churn: "churn", checkpoints: true },
  { mode: "wal", pageSize: 512, churn: "vacuum", checkpoints: true },
  { mode: "wal", pageSize: 65536, churn: "churn", checkpoints: false },
  { mode: "wal", pageSize: 4096, churn: "vacuum", checkpoints: false },
  { mode: "delete", pageSize: 4096, churn: "churn", checkpoints: false },
  { mode: "delete", pageSize: 65536, churn: "vacuum", checkpoints: false },
] as const;
/** Each shape with the reader in this thread (what a small database gets) and on its worker (a big one). */
const CASES = SHAPES.flatMap((s) => (["inline", "worker"] as const).map((reader) => ({ ...s, reader })));

describe.each(CASES)("page snapshot under a busy writer: %o", ({ mode, pageSize, churn, checkpoints, reader }) => {
  it("is always one committed state, whole, with the .dump of that state", async () => {
    const dir = tempDir();
    const src = createDb(join(dir, "live.db"), pageSize, mode, 500);
    // The writer's starting state (counter 0), for replaying its commits.
    const replayPath = join(dir, "replay.db");
    const ro = new Database(src, { readonly: true });
    ro.run("VACUUM INTO ?", [replayPath]);
    ro.close();
    const replay = new Database(replayPath);
    replay.run("PRAGMA journal_mode = MEMORY");
    replay.run("PRAGMA synchronous = OFF"); // a scratch copy: replaying thousands of commits must not fsync each
    let replayed = 0;
    const writer = await spawnHelper("churn-writer.ts", [src, churn]);
    const ckpt = checkpoints ? await spawnHelper("checkpointer.ts", [src]) : null;
    const seen: number[] = [];
    let walPages = 0;
    let fileOnly = 0;
    let ck: Record<string, unknown> | undefined;
    let stopped: Record<string, unknown>;
    try {
      for (let i = 0; i < 25; i++) {
        const restored = join(dir, `restored-${i}.db`);
        const s = await snapshotAndCheck(src, dir, restored, reader);
        expect(s.journal).toBe(mode);
        expect(s.n).toBeGreaterThanOrEqual(replayed); // snapshots taken one after another never go back in time
        replayCommits(replay, churn as ChurnMode, replayed, s.n);
        replayed = s.n;
        expect(dump(restored)).toBe(dump(replayPath));
        removeDb(restored);
        seen.push(s.n);
        walPages += s.walPages;
        if (s.walPages === 0) fileOnly++;
        await Bun.sleep(5);
      }
      replay.close();
    } finally {
      ck = await ckpt?.stop();
      stopped = await writer.stop();
    }
    const { commits, errors } = stopped as { commits: number; errors: string[] };
    expect(errors).toEqual([]);
    expect(commits).toBeGreaterThan(0);
    expect(new Set(seen).size).toBeGreaterThan(1); // the writer really moved during the snapshots
    if (mode === "wal" && !checkpoints) expect(walPages).toBeGreaterThan(0);
    if (ck) expect(ck.runs as number).toBeGreaterThan(0);
    console.log(
      `${mode}/${pageSize}/${churn}/${reader}: ` +
        `commits=${commits} wal_pages=${walPages} file_only=${fileOnly} ckpt=${JSON.stringify(ck)}`,
    );

    // Quiet now: the page snapshot and VACUUM INTO of the live database must dump the same.
    const restored = join(dir, "quiet.db");
    await snapshotAndCheck(src, dir, restored, reader);
    const vacuumed = join(dir, "vacuum.db");
    const live = new Database(src, { readonly: true });
    live.run("VACUUM INTO ?", [vacuumed]);
    live.close();
    expect(dump(restored)).toBe(dump(vacuumed));
  }, 60_000);
});

describe("page snapshot of a database larger than every buffer", () => {
  it("streams 40 MiB with uncheckpointed WAL frames through compression and back, memory staying flat", async () => {
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
    const stored = join(dir, "big-snap.db.zst");
    const r = await takePageSnapshot(src, stored, { codec: "zstd", level: 1, check: "full" });
    // The restore path: streamed decompression of the many frames, hashed on the way.
    const restored = join(dir, "big-restored.db");
    const back = await decompressFile(stored, restored, "zstd");
    clearInterval(timer);
    expect(r.rawSize).toBeGreaterThan(40 * 1024 * 1024);
    expect(r.wal_pages).toBeGreaterThan(10_000);
    expect(r.check).toEqual({ level: "full", ok: true, result: "ok" });
    expect(r.facts.tables.items).toBe(5000);
    expect(back).toEqual({
      rawSize: r.rawSize,
      rawSha256: r.rawSha256,
      storedSize: r.storedSize,
      storedSha256: r.storedSha256,
    });
    expect(integrityCheck(restored)).toBe("ok");
    expect(queryAll(restored, "SELECT count(*) AS c FROM items")).toEqual([{ c: 5000 }]);
    expect(Bun.file(`${src}-wal`).size).toBe(walBefore); // the source's WAL is untouched
    expect(peak - rssBefore).toBeLessThan(200 * 1024 * 1024);
    holder.close();
  }, 30_000);
});
