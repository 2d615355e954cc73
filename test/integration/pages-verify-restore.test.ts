/**
 * verify and restore of pages (incremental) backups written by writePagesBackup:
 * every level passes and is recorded; a damaged or missing pack fails every
 * backup that references it, each naming the pack and recording it in
 * bad_packs; restore over a live database reassembles the image beside it,
 * takes a pre-restore backup and swaps; both work encrypted to recipients.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AgeKeys, generateIdentity, parseIdentity } from "../../src/age/index.ts";
import { writePagesBackup } from "../../src/lib/backup/index.ts";
import { type DecryptionKeys, loadDecryptionKeys, NO_KEYS } from "../../src/lib/codec/index.ts";
import type { ResolvedConfig } from "../../src/lib/config/index.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { type Manifest, parseManifest, type StoredPages } from "../../src/lib/model/index.ts";
import { decodeMap, decodePackIndex } from "../../src/lib/pages/index.ts";
import { performRestore, planRestore } from "../../src/lib/restore/index.ts";
import { listDatabases, type StoredBackup } from "../../src/lib/store/index.ts";
import { BackupDamagedError, runVerifyJob, type VerifyLevel, verifyJobFailure } from "../../src/lib/verify/index.ts";
import { recordedRawSha256 } from "../helpers/backups.ts";
import { integrityCheck, makeDatabase, queryAll } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";
import { appendUntilFull, itWithTmpfs, mountTmpfs, unmountTmpfs } from "../helpers/tmpfs.ts";

const ID_KEY = new Uint8Array(32).fill(9);
type Encryption = { type: "recipients"; recipients: string[] };

/** `indexKeys`: what opens the pack indexes of an encrypted folder, so a backup references stored pages. */
function setup(encryption: Encryption | null = null, indexKeys?: AgeKeys, rows = 3000) {
  const dir = tempDir();
  const dbPath = makeDatabase(join(dir, "app.db"), { rows, payloadBytes: 1024 });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n[[database]]\nname = "app"\npath = "app.db"\nprobes = ["SELECT count(*) FROM items"]\n`,
  );
  const config: ResolvedConfig = { ...loadConfig({}, { HOME: dir }, dir), encryption };
  const folder = join(config.backupDir, "app");
  return { dir, dbPath, config, folder, indexKeys };
}
type Setup = ReturnType<typeof setup>;

async function backup(s: Setup): Promise<{ b: StoredBackup; pages: StoredPages }> {
  const r = await writePagesBackup(s.config, s.config.databases[0]!, {
    kind: "manual",
    tags: [],
    dryRun: false,
    idKey: ID_KEY,
    indexKeys: s.indexKeys,
  });
  expect(r.error).toBeUndefined();
  const manifest = readManifest(r.manifestPath!);
  return {
    b: { manifest, manifestPath: r.manifestPath!, dataPath: r.dataPath! },
    pages: manifest.stored as StoredPages,
  };
}

const readManifest = (path: string): Manifest =>
  parseManifest(readFileSync(path, "utf8"), path.split("/").at(-1)!, "app");
const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

/** Rewrites 1% of the rows, so a second backup stores those pages and references the rest. */
function changeOnePercent(path: string) {
  const db = new Database(path);
  db.run("UPDATE items SET payload = randomblob(1024) WHERE id % 100 = 7");
  db.close();
}

/** Two pages backups and a pack they both reference. */
async function twoSharing(s: Setup) {
  const first = await backup(s);
  changeOnePercent(s.dbPath);
  const second = await backup(s);
  const shared = second.pages.packs.find((p) => !p.new && first.pages.packs.some((q) => q.name === p.name))!;
  expect(shared).toBeDefined();
  return { first, second, shared: shared.name };
}

/** SHA-256 of every row of items, in order: equal exactly when the rows are. */
const contentOf = (path: string) =>
  new Bun.CryptoHasher("sha256")
    .update(JSON.stringify(queryAll(path, "SELECT id, name, hex(payload) AS p FROM items ORDER BY id")))
    .digest("hex");

function flipByte(path: string) {
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
  writeFileSync(path, bytes);
}

const verifyAll = (s: Setup, level: VerifyLevel, keys: DecryptionKeys = NO_KEYS) =>
  runVerifyJob(s.config, {
    target: {},
    selector: { kind: "all" },
    level,
    levelGiven: true,
    keys,
    listCommand: "sqlbak list",
  });

describe("verify of pages backups", () => {
  it("passes at checksum, quick and full, each recorded in the manifest with no bad packs", async () => {
    const s = setup();
    const { first, second } = await twoSharing(s);
    for (const level of ["checksum", "quick", "full"] as const) {
      const job = await verifyAll(s, level);
      expect(job.results.map((r) => [r.id, r.ok, r.problems])).toEqual([
        [first.b.manifest.id, true, []],
        [second.b.manifest.id, true, []],
      ]);
      expect(verifyJobFailure(job.results)).toBeUndefined();
    }
    for (const b of [first.b, second.b]) {
      const history = readManifest(b.manifestPath).verifications;
      expect(history.map((v) => [v.level, v.ok, v.bad_packs])).toEqual([
        ["checksum", true, []],
        ["quick", true, []],
        ["full", true, []],
      ]);
    }
    // verify's scratch copies are gone: only the backups' own files are left.
    expect(readdirSync(s.folder).filter((n) => n.includes(".tmp"))).toEqual([]);
  });

  it("fails every backup referencing a damaged pack at each level, naming it and recording it in bad_packs", async () => {
    const s = setup();
    const { first, second, shared } = await twoSharing(s);
    flipByte(join(s.folder, shared));
    for (const level of ["checksum", "full"] as const) {
      const job = await verifyAll(s, level);
      expect(job.results.map((r) => [r.id, r.ok, r.badPacks])).toEqual([
        [first.b.manifest.id, false, [shared]],
        [second.b.manifest.id, false, [shared]],
      ]);
      for (const r of job.results) {
        expect(r.problems).toHaveLength(1);
        expect(r.problems[0]).toStartWith(`pack ${shared} sha256 `);
        expect(r.problems[0]).toContain("does not match the manifest's");
      }
      expect(verifyJobFailure(job.results)).toEqual({ message: "2 of 2 backups failed verification", code: 3 });
    }
    for (const b of [first.b, second.b]) {
      const last = readManifest(b.manifestPath).verifications.at(-1)!;
      expect(last).toMatchObject({ level: "full", ok: false, bad_packs: [shared] });
      expect(last.problems[0]).toContain(shared);
    }
  });

  it("fails a backup whose pack is missing (it is verified, not skipped) and names the pack", async () => {
    const s = setup();
    const { first, second, shared } = await twoSharing(s);
    rmSync(join(s.folder, shared));
    const job = await verifyAll(s, "quick");
    expect(job.results.map((r) => [r.id, r.ok, r.problems, r.badPacks])).toEqual([
      [first.b.manifest.id, false, [`pack ${shared} is missing`], [shared]],
      [second.b.manifest.id, false, [`pack ${shared} is missing`], [shared]],
    ]);
  });

  it("names a pack whose recorded checksum holds but whose content does not reassemble (quick, not checksum)", async () => {
    const s = setup();
    const { b, pages } = await backup(s);
    // A pack damaged before its checksum was recorded: the manifest's size and SHA-256 describe the damaged bytes.
    const pack = pages.packs[0]!;
    const path = join(s.folder, pack.name);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2))); // cut inside a frame
    const m = JSON.parse(readFileSync(b.manifestPath, "utf8"));
    m.stored.packs[0].sha256 = sha256(path);
    m.stored.packs[0].size = Math.floor(bytes.length / 2);
    writeFileSync(b.manifestPath, JSON.stringify(m));
    const checksum = await verifyAll(s, "checksum");
    expect(checksum.results.map((r) => [r.ok, r.badPacks])).toEqual([[true, []]]);
    const quick = await verifyAll(s, "quick");
    expect(quick.results.map((r) => [r.ok, r.badPacks])).toEqual([[false, [pack.name]]]);
    expect(quick.results[0]!.problems).toHaveLength(1);
    expect(quick.results[0]!.problems[0]).toStartWith(`pack ${pack.name} is damaged: `);
    expect(readManifest(b.manifestPath).verifications.at(-1)).toMatchObject({ ok: false, bad_packs: [pack.name] });
  });
});

describe("verify of a pages backup on a full backup_dir", () => {
  itWithTmpfs(import.meta.path, "reassembles an unencrypted one under the system temp dir and passes", async () => {
    const s = setup(null, undefined, 200);
    mkdirSync(s.config.backupDir);
    mountTmpfs(s.config.backupDir, "2m");
    try {
      const { b } = await backup(s);
      appendUntilFull(join(s.config.backupDir, "filler"), new Uint8Array(4096));
      appendUntilFull(join(s.config.backupDir, "filler"), new Uint8Array(1));
      expect(statfsSync(s.config.backupDir).bavail).toBe(0);
      const job = await verifyAll(s, "quick");
      expect(job.results.map((r) => [r.id, r.ok, r.problems, r.error])).toEqual([[b.manifest.id, true, [], undefined]]);
      expect(readdirSync(s.folder).filter((n) => n.includes(".tmp"))).toEqual([]);
    } finally {
      unmountTmpfs(s.config.backupDir);
    }
  });
});

describe("restore of pages backups", () => {
  it("restores over the live database: the backed-up state, a pre-restore backup, nothing left beside it", async () => {
    const s = setup();
    const backedUp = contentOf(s.dbPath);
    const { first } = await twoSharing(s);
    expect(contentOf(s.dbPath)).not.toBe(backedUp); // the live database changed since the first backup
    // A reassembly temporary left by a killed restore is removed by the next one.
    const stale = join(s.dir, "..app.db.0123abcd.tmp.89abcdef.tmp");
    writeFileSync(stale, "left by kill -9");
    const [listing] = await listDatabases(s.config, "app");
    const backup = listing!.backups.find((x) => x.manifest.id === first.b.manifest.id)!;
    const plan = planRestore(s.config, backup, { force: false, keys: NO_KEYS, preRestoreMode: "backup" });
    expect(plan.preRestore).not.toBeNull();
    const steps: string[] = [];
    const result = await performRestore(s.config, plan, { keys: NO_KEYS, onStep: (m) => steps.push(m) });
    expect(steps[0]).toBe(`reassembling ${first.b.manifest.id} beside ${s.dbPath}, checking it (checksum)`);
    expect(result.removedFiles).toContain(stale);
    expect(result.preRestoreId).toBeString();
    expect(existsSync(join(s.folder, `${result.preRestoreId}.json`))).toBe(true);
    expect(sha256(s.dbPath)).toBe(first.b.manifest.raw.sha256!);
    expect(integrityCheck(s.dbPath)).toBe("ok");
    expect(contentOf(s.dbPath)).toBe(backedUp);
    expect(readdirSync(s.dir).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("refuses a backup whose pack is damaged, naming the pack, and leaves the database untouched", async () => {
    const s = setup();
    const { first, shared } = await twoSharing(s);
    flipByte(join(s.folder, shared));
    const live = sha256(s.dbPath);
    const plan = planRestore(s.config, first.b, { force: false, keys: NO_KEYS });
    const err = await performRestore(s.config, plan, { keys: NO_KEYS }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(BackupDamagedError);
    expect((err as Error).message).toStartWith(`refusing to restore ${first.b.manifest.id}: `);
    expect((err as Error).message).toContain(`pack ${shared}`);
    expect(sha256(s.dbPath)).toBe(live);
    expect(readdirSync(s.dir).filter((n) => n.startsWith("."))).toEqual([]);
  });
});

describe("restore of pages backups whose pages come from several packs", () => {
  /** Restores the newest backup over the live database: the error, or null. */
  async function restoreNewest(s: Setup): Promise<Error | null> {
    const [listing] = await listDatabases(s.config, "app");
    const plan = planRestore(s.config, listing!.backups.at(-1)!, { force: false, keys: NO_KEYS });
    return performRestore(s.config, plan, { keys: NO_KEYS })
      .then(() => null)
      .catch((e: Error) => e);
  }

  it("restores a backup that takes its pages from many packs, not in page order, to its recorded SHA-256", async () => {
    const s = setup();
    await backup(s);
    let last = await backup(s);
    for (const k of [1, 4, 7]) {
      const db = new Database(s.dbPath);
      db.run(`UPDATE items SET payload = randomblob(1024) WHERE id % 9 = ${k}`);
      db.close();
      last = await backup(s);
    }
    expect(last.pages.packs.length).toBeGreaterThanOrEqual(4);
    expect(await restoreNewest(s)).toBeNull();
    expect(sha256(s.dbPath)).toBe(last.b.manifest.raw.sha256!);
    expect(integrityCheck(s.dbPath)).toBe("ok");
  });

  it("refuses a backup when a frame it does not need of a pack it shares is damaged, leaving the database", async () => {
    const s = setup();
    // A table of one row per page, then every row rewritten: whole frames of the first pack change.
    let db = new Database(s.dbPath);
    db.run("CREATE TABLE big (id INTEGER PRIMARY KEY, data BLOB)");
    db.run(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) INSERT INTO big SELECT i, randomblob(3000) FROM n",
    );
    db.close();
    const first = await backup(s);
    db = new Database(s.dbPath);
    db.run("UPDATE big SET data = randomblob(3000)");
    db.close();
    const second = await backup(s);
    const shared = first.pages.packs[0]!.name;
    const p = second.pages.packs.findIndex((x) => x.name === shared);
    expect(p).toBeGreaterThanOrEqual(0);
    // A frame of the shared pack holding no entry the second backup's map names: restore does not decompress it.
    const map = decodeMap(Bun.zstdDecompressSync(readFileSync(join(s.folder, second.pages.file))));
    const F = second.pages.pages_per_frame;
    const needed = new Set<number>();
    for (const r of map.runs.filter((r) => r.pack === p))
      for (let j = 0; j < r.count; j++) needed.add(Math.floor((r.firstEntry + j * r.stride) / F));
    const offsets = decodePackIndex(readFileSync(join(s.folder, shared.replace(/\.zst$/, ".idx")))).frameOffsets;
    const unneeded = offsets.findIndex((_, f) => f < offsets.length - 1 && !needed.has(f));
    expect(unneeded).toBeGreaterThanOrEqual(0);
    const bytes = readFileSync(join(s.folder, shared));
    bytes[Math.floor((offsets[unneeded]! + offsets[unneeded + 1]!) / 2)]! ^= 0x40;
    writeFileSync(join(s.folder, shared), bytes);
    const live = sha256(s.dbPath);
    const err = await restoreNewest(s);
    expect(err).toBeInstanceOf(BackupDamagedError);
    expect(err!.message).toStartWith(`refusing to restore ${second.b.manifest.id}: `);
    expect(err!.message).toContain(`pack ${shared} is damaged`);
    expect(sha256(s.dbPath)).toBe(live);
    expect(readdirSync(s.dir).filter((n) => n.startsWith("."))).toEqual([]);
  });
});

describe("pages backups encrypted to recipients", () => {
  it("verify at full and restore with the identity; checksum only without it", async () => {
    const id = generateIdentity();
    const s = setup({ type: "recipients", recipients: [id.recipient] }, { identities: [parseIdentity(id.identity)] });
    const { first, second } = await twoSharing(s);
    expect(second.pages.file.endsWith(".map.zst.age")).toBe(true);
    const idFile = join(s.dir, "identity.txt");
    writeFileSync(idFile, `${id.identity}\n`);
    const keys = loadDecryptionKeys(idFile, s.config.encryption, {});
    const full = await verifyAll(s, "full", keys);
    expect(full.results.map((r) => [r.ok, r.problems])).toEqual([
      [true, []],
      [true, []],
    ]);
    const blind = await runVerifyJob(s.config, {
      target: {},
      selector: { kind: "all" },
      level: "quick",
      levelGiven: false,
      keys: NO_KEYS,
      listCommand: "sqlbak list",
    });
    expect(blind.level).toBe("checksum");
    expect(blind.results.map((r) => r.ok)).toEqual([true, true]);

    const plan = planRestore(s.config, first.b, { force: false, keys, preRestoreMode: "backup" });
    const result = await performRestore(s.config, plan, { keys });
    expect(result.preRestoreId).toBeString();
    // Encrypted: the raw SHA-256 is in the manifest's meta block, which the identity opens.
    expect(sha256(s.dbPath)).toBe(await recordedRawSha256(first.b.manifest, { identity: idFile }));
    expect(integrityCheck(s.dbPath)).toBe("ok");
  });
});

describe("parseManifest and bad_packs", () => {
  it("accepts a verification record with bad_packs and refuses one whose bad_packs is not a list of names", async () => {
    const s = setup();
    const { b } = await backup(s);
    const text = readFileSync(b.manifestPath, "utf8");
    const withRecord = (bad: unknown) => {
      const m = JSON.parse(text);
      m.verifications = [
        { at: new Date().toISOString(), level: "checksum", ok: false, problems: ["x"], bad_packs: bad },
      ];
      return JSON.stringify(m);
    };
    const name = `${b.manifest.id}.json`;
    expect(parseManifest(withRecord(["pack-a"]), name, "app").verifications[0]!.bad_packs).toEqual(["pack-a"]);
    expect(() => parseManifest(withRecord("pack-a"), name, "app")).toThrow(
      "manifest has an invalid bad_packs in its verification history",
    );
    expect(() => parseManifest(withRecord([1]), name, "app")).toThrow("invalid bad_packs");
  });
});
