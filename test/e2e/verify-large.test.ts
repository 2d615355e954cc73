/**
 * `verify` of a backup past HASH_BESIDE_MIN_BYTES (64 MiB raw), where the
 * stored file is hashed on a worker while it is decompressed, or a pages
 * backup's packs only as they are read, and the image is hashed while SQLite
 * checks it (src/lib/verify/hash-beside.ts): every check still
 * answers, through the compiled binary. The database holds an index whose
 * entries do not match its table: quick_check (the backup's check) passes it,
 * only integrity_check finds it.
 */
import { describe, expect, it } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  backupNow,
  editManifest,
  flipByte,
  type ListedBackup,
  makeProject,
  type Project,
  withDatabase,
} from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";

/** Statements run one by one on one connection (really closed after). */
const run = (path: string, ...sqls: string[]) =>
  withDatabase(path, (db) => {
    for (const sql of sqls) db.prepare(sql).run();
  });

let p: Project;
let b: ListedBackup;

/**
 * A project whose app.db is over 72 MiB (random, incompressible blobs: quick to make and to compress) with the
 * bad index; backed up once, as a data file or (`incremental`) a pages backup.
 */
async function largeProject(incremental = false): Promise<void> {
  p = makeProject({ incremental });
  run(
    p.db,
    "CREATE TABLE big (b BLOB)",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 72) INSERT INTO big SELECT randomblob(1048576) FROM c",
    "CREATE TABLE t (a INTEGER, b INTEGER)",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500) INSERT INTO t SELECT x, 1000 - x FROM c",
    "CREATE INDEX t_a ON t(a)",
  );
  // The index now claims to hold b while its entries hold a. bun:sqlite runs SQLite in defensive mode,
  // which forbids writable_schema: the sqlite3 shell does it.
  const edit = Bun.spawnSync([
    "sqlite3",
    p.db,
    "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE INDEX t_a ON t(b)' WHERE name = 't_a';",
  ]);
  expect(edit.exitCode).toBe(0);
  b = await backupNow(p);
  expect(statSync(p.db).size).toBeGreaterThan(64 * 1024 * 1024);
}

const verifyJson = async (level: string) => {
  const r = await runCli(["verify", b.id, "--level", level, "--json"], { cwd: p.dir });
  return {
    code: r.code,
    result: parseJson(r.stdout).results[0] as { ok: boolean; problems: string[]; bad_packs?: string[] },
    stderr: r.stderr,
  };
};

describe("sqlbak verify of a large data file", () => {
  it("passes quick and fails full with integrity_check's finding, the hashes agreeing", async () => {
    await largeProject();
    const quick = await verifyJson("quick");
    expect(quick.result).toMatchObject({ ok: true, problems: [] });
    expect(quick.code).toBe(0);
    const full = await verifyJson("full");
    expect(full.code).toBe(3);
    expect(full.result.ok).toBe(false);
    expect(full.result.problems).toEqual([expect.stringMatching(/^integrity_check: .*index t_a/)]);
    expect(readdirSync(p.folder).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  }, 60_000);

  it("reports an image whose SHA-256 is not the recorded one, and the check's finding beside it", async () => {
    await largeProject();
    let raw = "";
    editManifest(b.manifest, (m) => {
      raw = m.raw.sha256;
      m.raw.sha256 = "0".repeat(64);
    });
    const full = await verifyJson("full");
    expect(full.code).toBe(3);
    expect(full.result.problems).toEqual([
      `decompressed image sha256 ${raw.slice(0, 12)}… does not match the manifest's 000000000000…`,
      expect.stringMatching(/^integrity_check: /),
    ]);
  }, 60_000);

  it("names a damaged stored file by its checksum, as when it is hashed before decompressing", async () => {
    await largeProject();
    flipByte(b.file, 5000);
    const full = await verifyJson("full");
    expect(full.code).toBe(3);
    expect(full.result.problems).toEqual([
      expect.stringMatching(
        /^stored file sha256 \w{12}… does not match the manifest's \w{12}… \(damaged or changed\)$/,
      ),
    ]);
  }, 60_000);
});

describe("sqlbak verify of a large pages backup", () => {
  it("passes quick and fails full with integrity_check's finding, the hashes agreeing", async () => {
    await largeProject(true);
    expect((await verifyJson("quick")).result).toMatchObject({ ok: true, problems: [] });
    const full = await verifyJson("full");
    expect(full.code).toBe(3);
    expect(full.result.problems).toEqual([expect.stringMatching(/^integrity_check: .*index t_a/)]);
    expect(full.result.bad_packs).toEqual([]);
  }, 60_000);

  it("refuses an image whose SHA-256 is not the recorded one, as reassembly does, without checking it further", async () => {
    await largeProject(true);
    let raw = "";
    editManifest(b.manifest, (m) => {
      raw = m.raw.sha256;
      m.raw.sha256 = "0".repeat(64);
    });
    const full = await verifyJson("full");
    expect(full.code).toBe(3);
    expect(full.result.problems).toEqual([
      `the reassembled image's SHA-256 ${raw} is not the recorded ${"0".repeat(64)}`,
    ]);
  }, 60_000);

  it("names every damaged pack by its checksum, as when the packs are hashed before reassembly", async () => {
    await largeProject(true);
    // Reassembly stops at the first bad pack it reads; the checksum stage goes on and names each one.
    const packs = readdirSync(p.folder)
      .filter((n) => n.startsWith("pack-") && n.endsWith(".zst"))
      .sort()
      .slice(0, 2);
    expect(packs).toHaveLength(2);
    for (const pack of packs) flipByte(join(p.folder, pack), 5000);
    const full = await verifyJson("full");
    expect(full.code).toBe(3);
    expect(full.result.problems).toEqual(
      packs.map((pack) =>
        expect.stringMatching(new RegExp(`^pack ${pack} sha256 \\w{12}… does not match the manifest's \\w{12}…`)),
      ),
    );
    expect(full.result.bad_packs).toEqual(packs);
  }, 60_000);
});
