/**
 * A run of many databases (`backup --parallel`) keeps its workers: one reader
 * and one id worker a lane, reused database after database, ended at the run's
 * end (system/worker-pool.ts). A pooled worker must give the same backups as a
 * fresh one (same raw SHA-256, restorable), whatever database it served before,
 * and nothing may be left running after the run: not after a clean run, nor
 * after one whose database failed inside a worker.
 */
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runBackups } from "../../src/lib/backup/index.ts";
import { NO_KEYS } from "../../src/lib/codec/index.ts";
import type { ResolvedConfig } from "../../src/lib/config/index.ts";
import { adHocDatabase, loadConfig } from "../../src/lib/config/load.ts";
import { parseManifest } from "../../src/lib/model/index.ts";
import { pooledWorkers } from "../../src/lib/system/index.ts";
import { reassemblePages } from "../../src/lib/verify/reassemble.ts";
import { integrityCheck, makeDatabase } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
const OPTS = { kind: "manual" as const, tags: [] as string[], dryRun: false };
const packsIn = (folder: string) => readdirSync(folder).filter((f) => f.startsWith("pack-")).sort();

/** Databases of different sizes and contents, quiet and checkpointed: each image is its file. */
function sources(dir: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    makeDatabase(join(dir, `db${i}.db`), { rows: 200 + i * 300, payloadBytes: 512 + i * 97 }),
  );
}

async function backUp(config: ResolvedConfig, paths: string[], parallel: number) {
  const dbs = paths.map((p) => adHocDatabase(config, p));
  return runBackups(config, dbs, { ...OPTS, parallel });
}

/** The manifest of `r` and the image it restores to (checked against its raw SHA-256 and by SQLite). */
async function restored(config: ResolvedConfig, r: { manifestPath?: string; dataPath?: string; id?: string }, db: string) {
  const manifest = parseManifest(readFileSync(r.manifestPath!, "utf8"), `${r.id}.json`, db);
  const target = join(config.backupDir, `${db}-restored.db`);
  const back = await reassemblePages(
    { manifest, manifestPath: r.manifestPath!, dataPath: r.dataPath! },
    join(config.backupDir, db),
    NO_KEYS,
    target,
  );
  expect(back.rawSha256).toBe(manifest.raw.sha256!);
  expect(sha256(target)).toBe(manifest.raw.sha256!);
  expect(integrityCheck(target)).toBe("ok");
  return manifest;
}

describe("workers kept for a run of many databases", () => {
  it("reuses one reader and one id worker a lane, stores what fresh workers store, and leaves none running", async () => {
    const dir = tempDir();
    const paths = sources(dir, 6);
    const base = loadConfig({ backupDir: join(dir, "unused") }, { HOME: dir }, dir);
    const before = pooledWorkers();
    const pooledConfig = { ...base, backupDir: join(dir, "pooled"), encryption: null };
    const pooled = await backUp(pooledConfig, paths, 2);
    const after = pooledWorkers();
    expect(after.live).toBe(before.live);
    // Two lanes, two kinds: at most four started for six databases.
    expect(after.started - before.started).toBeGreaterThan(0);
    expect(after.started - before.started).toBeLessThanOrEqual(4);

    // One at a time: no pool, each database hashed and checked in this thread.
    const freshConfig = { ...base, backupDir: join(dir, "fresh"), encryption: null };
    const fresh = await backUp(freshConfig, paths, 1);
    expect(pooledWorkers().started).toBe(after.started);

    for (const [i, path] of paths.entries()) {
      const p = pooled[i]!;
      const f = fresh[i]!;
      expect(p.error).toBeUndefined();
      expect(f.error).toBeUndefined();
      const name = adHocDatabase(base, path).name;
      const a = await restored(pooledConfig, p, name);
      const b = await restored(freshConfig, f, name);
      expect(a.raw.sha256).toBe(sha256(path));
      expect(a.raw).toEqual(b.raw);
      expect(a.check).toEqual(b.check);
      expect(a.snapshot.tables).toEqual(b.snapshot.tables);
    }

    // Again, unchanged, the lanes now taking other databases than before: every page is found
    // (its id made with its own folder's key on whichever worker), so no pack is written.
    const folders = paths.map((p) => join(pooledConfig.backupDir, adHocDatabase(base, p).name));
    const packs = folders.map(packsIn);
    const again = await backUp(pooledConfig, [...paths].reverse(), 2);
    for (const r of again) expect(r.error).toBeUndefined();
    expect(folders.map(packsIn)).toEqual(packs);
    expect(pooledWorkers().live).toBe(before.live);
  }, 120_000);

  it("goes on after a database that fails in its worker, and still leaves none running", async () => {
    const dir = tempDir();
    const paths = sources(dir, 4);
    // A SQLite header over garbage: the reader's worker fails on it (the header check alone passes).
    const bad = join(dir, "bad.db");
    const bytes = new Uint8Array(64 * 1024).map((_, i) => (i * 131) % 251);
    bytes.set(readFileSync(paths[0]!).subarray(0, 100));
    writeFileSync(bad, bytes);
    const all = [paths[0]!, bad, ...paths.slice(1)];
    const base = loadConfig({ backupDir: join(dir, "unused") }, { HOME: dir }, dir);
    const config = { ...base, backupDir: join(dir, "backups"), encryption: null };
    const before = pooledWorkers();
    const results = await backUp(config, all, 2);
    expect(pooledWorkers().live).toBe(before.live);
    expect(results[1]!.ok).toBe(false);
    expect(results[1]!.error).toMatch(/not a SQLite database, or damaged|malformed/);
    for (const [i, r] of results.entries()) {
      if (i === 1) continue;
      expect(r.error).toBeUndefined();
      const m = await restored(config, r, adHocDatabase(base, all[i]!).name);
      expect(m.raw.sha256).toBe(sha256(all[i]!));
    }
  }, 120_000);
});
