/**
 * Backups of a database that another process writes to continuously: the
 * writer never sees an error, keeps committing in WAL mode, and the backup is
 * one committed state (the writer bumps a counter and adds a row per commit).
 */

import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { backupDatabase } from "../../src/lib/backup/run.ts";
import { decompressFile } from "../../src/lib/codec/compress.ts";
import { adHocDatabase } from "../../src/lib/config/databases.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { listFolder } from "../../src/lib/store/local.ts";
import { integrityCheck, makeDatabase, queryAll } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const BASE_ROWS = 2000;

async function startWriter(dbPath: string) {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "../helpers/writer.ts"), dbPath], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stderr.getReader();
  await reader.read(); // "ready"
  reader.releaseLock();
  return {
    async stop(): Promise<{ commits: number; errors: string[] }> {
      proc.kill("SIGTERM");
      const out = await new Response(proc.stdout).text();
      await proc.exited;
      return JSON.parse(out);
    },
  };
}

function counterOf(path: string): number {
  return (queryAll(path, "SELECT n FROM counter")[0] as { n: number }).n;
}

describe.each(["wal", "delete"] as const)("backup while a writer commits (%s mode)", (mode) => {
  it("never disturbs the writer and captures one committed state", async () => {
    const dir = tempDir();
    const dbPath = makeDatabase(join(dir, "live.db"), { journalMode: mode, rows: BASE_ROWS, payloadBytes: 8192 });
    const config = loadConfig({ backupDir: join(dir, "backups") }, { HOME: dir }, dir);
    const db = adHocDatabase(config, dbPath);
    const writer = await startWriter(dbPath);
    const results = [];
    let during = 0;
    let stopped: Awaited<ReturnType<typeof writer.stop>>;
    try {
      // A rollback-mode writer can starve a plain reader for longer than any
      // busy timeout on a loaded machine, so the live counter is read in WAL
      // mode only, where readers never wait (and only there is it asserted).
      const before = mode === "wal" ? counterOf(dbPath) : 0;
      for (let i = 0; i < 3; i++)
        results.push(await backupDatabase(config, db, { kind: "manual", tags: [], dryRun: false }));
      if (mode === "wal") during = counterOf(dbPath) - before;
    } finally {
      stopped = await writer.stop();
    }
    const { commits, errors } = stopped;

    expect(errors).toEqual([]);
    expect(commits).toBeGreaterThan(0);
    if (mode === "wal") expect(during).toBeGreaterThan(0);
    for (const r of results) expect(r).toMatchObject({ ok: true, exitCode: 0 });

    const { backups } = await listFolder(config.backupDir, "live");
    expect(backups).toHaveLength(3);
    for (const b of backups) {
      const restored = join(dir, `${b.manifest.id}.db`);
      const sums = await decompressFile(b.dataPath, restored, "zstd");
      expect(sums.rawSha256).toBe(b.manifest.raw.sha256!);
      expect(sums.storedSha256).toBe(b.manifest.stored.sha256);
      expect(integrityCheck(restored)).toBe("ok");
      const n = counterOf(restored);
      const writerRows = (
        queryAll(restored, "SELECT count(*) AS c FROM items WHERE name = 'writer'")[0] as { c: number }
      ).c;
      expect(writerRows).toBe(n);
      expect(b.manifest.snapshot.tables!.items).toBe(BASE_ROWS + n);
      expect(b.manifest.snapshot.journal_mode).toBe(mode);
    }
  }, 60_000);
});

describe("backup never changes the source", () => {
  it("leaves the journal mode, schema and WAL file alone", async () => {
    const dir = tempDir();
    const dbPath = makeDatabase(join(dir, "src.db"), { journalMode: "wal" });
    const holder = new Database(dbPath); // keeps the WAL alive, as a running app would
    holder.run("INSERT INTO items (name) VALUES ('uncheckpointed')");
    const schemaBefore = queryAll(dbPath, "SELECT sql FROM sqlite_schema");
    const walBefore = Bun.file(`${dbPath}-wal`).size;
    const config = loadConfig({ backupDir: join(dir, "b") }, { HOME: dir }, dir);
    const db = {
      ...adHocDatabase(config, dbPath),
      check: "full" as const,
      compression: "gzip" as const,
      compressionLevel: 6,
    };
    const r = await backupDatabase(config, db, { kind: "manual", tags: [], dryRun: false });
    expect(r.ok).toBe(true);
    expect(queryAll(dbPath, "PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
    expect(queryAll(dbPath, "SELECT sql FROM sqlite_schema")).toEqual(schemaBefore);
    expect(Bun.file(`${dbPath}-wal`).size).toBe(walBefore);
    const restored = join(dir, "r.db");
    await decompressFile(r.dataPath!, restored, "gzip");
    expect(queryAll(restored, "SELECT count(*) AS c FROM items WHERE name = 'uncheckpointed'")).toEqual([{ c: 1 }]);
    holder.close();
  });
});
