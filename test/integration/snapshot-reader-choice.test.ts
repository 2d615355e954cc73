/**
 * Where a snapshot's reader runs, and where a pages backup hashes: a small
 * source gets both in this thread (no worker start-up), a big one gets the
 * workers. Whichever way, the image is the same: same raw SHA-256, same check
 * and facts, and a pages backup reassembles to the same bytes. (Under a busy
 * writer both readers are exercised by snapshot-pages.test.ts.)
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ID_WORKER_MIN_BYTES, PageSink } from "../../src/lib/backup/page-sink.ts";
import { writePagesBackup } from "../../src/lib/backup/pages.ts";
import { NO_KEYS } from "../../src/lib/codec/index.ts";
import { adHocDatabase } from "../../src/lib/config/databases.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { parseManifest } from "../../src/lib/model/index.ts";
import { takePageSnapshot } from "../../src/lib/snapshot/pages.ts";
import { INLINE_READER_MAX_BYTES, type ReaderChoice } from "../../src/lib/snapshot/readers.ts";
import { reassemblePages } from "../../src/lib/verify/reassemble.ts";
import { integrityCheck, makeDatabase } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const ID_KEY = new Uint8Array(32).fill(9);
const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

async function snapshot(src: string, dir: string, reader: ReaderChoice) {
  const stored = join(dir, `snap-${reader}-${Math.random().toString(16).slice(2)}.zst`);
  const r = await takePageSnapshot(src, stored, { codec: "zstd", level: 1, check: "quick", reader });
  const restored = `${stored}.db`;
  expect(Bun.spawnSync(["zstd", "-d", "-q", stored, "-o", restored]).exitCode).toBe(0);
  expect(sha256(restored)).toBe(r.rawSha256);
  expect(integrityCheck(restored)).toBe("ok");
  return r;
}

describe("the snapshot reader, in-thread or on a worker", () => {
  it("runs in-thread for a small database and on a worker above the threshold, the image the same either way", async () => {
    const dir = tempDir();
    const small = makeDatabase(join(dir, "small.db"), { rows: 50, payloadBytes: 512 });
    expect((await snapshot(small, dir, "auto")).reader).toBe("inline");
    // 17 MiB of rows: above the threshold by the file alone.
    const big = makeDatabase(join(dir, "big.db"), { rows: 17 * 1024, payloadBytes: 1024 });
    expect(Bun.file(big).size).toBeGreaterThan(INLINE_READER_MAX_BYTES);
    const auto = await snapshot(big, dir, "auto");
    expect(auto.reader).toBe("worker");
    const inline = await snapshot(big, dir, "inline");
    expect(inline.reader).toBe("inline");
    for (const r of [inline, auto]) {
      expect(r.rawSha256).toBe(sha256(big)); // quiet, checkpointed: the image is the file
      expect(r.check).toEqual({ level: "quick", ok: true, result: "ok" });
    }
    expect(inline.facts).toEqual(auto.facts);
  }, 60_000);

  it("counts the WAL: a small file with a big uncheckpointed WAL gets the worker", async () => {
    const dir = tempDir();
    const src = makeDatabase(join(dir, "wal.db"), { rows: 10, payloadBytes: 16 });
    const holder = new Database(src); // keeps the frames in the WAL
    holder.run("PRAGMA wal_autocheckpoint = 0");
    const ins = holder.prepare("INSERT INTO items (name, payload) VALUES ('w', randomblob(4000))");
    holder.transaction(() => {
      for (let i = 0; i < 4500; i++) ins.run();
    })();
    ins.finalize();
    try {
      expect(Bun.file(src).size).toBeLessThan(INLINE_READER_MAX_BYTES);
      expect(Bun.file(`${src}-wal`).size + Bun.file(src).size).toBeGreaterThan(INLINE_READER_MAX_BYTES);
      const auto = await snapshot(src, dir, "auto");
      expect(auto.reader).toBe("worker");
      expect(auto.wal_pages).toBeGreaterThan(0);
      const inline = await snapshot(src, dir, "inline");
      expect(inline.rawSha256).toBe(auto.rawSha256);
      expect(inline.facts).toEqual(auto.facts);
    } finally {
      holder.close();
    }
  }, 60_000);
});

describe("a pages backup with and without its workers", () => {
  it("hashes in-thread below ID_WORKER_MIN_BYTES and on the id worker above it", async () => {
    const sink = new PageSink([], { folder: tempDir(), idKey: ID_KEY, level: 3 });
    await sink.begin({ pageSize: 4096, pageCount: 256, startCheck: () => {} });
    expect(sink.hasher()).toBeNull();
    await sink.begin({ pageSize: 4096, pageCount: ID_WORKER_MIN_BYTES / 4096 + 1, startCheck: () => {} });
    const ids = sink.hasher();
    expect(ids).not.toBeNull();
    ids?.close();
  });

  it("stores the same image both ways: same raw SHA-256, check and facts, each reassembling to it", async () => {
    const dir = tempDir();
    const src = makeDatabase(join(dir, "app.db"), { rows: 3000, payloadBytes: 1024 });
    const base = loadConfig({ backupDir: join(dir, "unused") }, { HOME: dir }, dir);
    const ways = [
      { backupDir: join(dir, "in-thread"), snapshotReader: "inline", idWorker: "never" },
      { backupDir: join(dir, "workers"), snapshotReader: "worker", idWorker: "always" },
    ] as const;
    const out = [];
    for (const { backupDir, snapshotReader, idWorker } of ways) {
      const config = { ...base, backupDir, encryption: null };
      const db = adHocDatabase(config, src);
      const r = await writePagesBackup(config, db, {
        kind: "manual",
        tags: [],
        dryRun: false,
        idKey: ID_KEY,
        snapshotReader,
        idWorker,
      });
      expect(r.error).toBeUndefined();
      const manifest = parseManifest(readFileSync(r.manifestPath!, "utf8"), `${r.id}.json`, db.name);
      const target = join(dir, `restored-${snapshotReader}.db`);
      const back = await reassemblePages(
        { manifest, manifestPath: r.manifestPath!, dataPath: r.dataPath! },
        join(backupDir, db.name),
        NO_KEYS,
        target,
      );
      expect(back.rawSha256).toBe(manifest.raw.sha256!);
      expect(sha256(target)).toBe(manifest.raw.sha256!);
      expect(integrityCheck(target)).toBe("ok");
      out.push(manifest);
    }
    const [a, b] = out;
    expect(a!.raw).toEqual(b!.raw);
    expect(a!.raw.sha256).toBe(sha256(src));
    expect(a!.check).toEqual(b!.check);
    const { wal_bytes: _a, ...snapA } = a!.snapshot;
    const { wal_bytes: _b, ...snapB } = b!.snapshot;
    expect(snapA).toEqual(snapB);
  }, 60_000);
});
