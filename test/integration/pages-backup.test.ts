/**
 * Pages backups of real databases: writePagesBackup stores each page once per
 * folder (a second backup references what the first stored), writes packs,
 * then the map, then the manifest, and reassemblePages rebuilds each backup
 * to exactly its recorded SHA-256, or fails naming the damaged pack.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encryptBytes, generateIdentity, parseIdentity, parseRecipient } from "../../src/age/index.ts";
import { writePagesBackup } from "../../src/lib/backup/index.ts";
import { loadDecryptionKeys, NO_KEYS } from "../../src/lib/codec/index.ts";
import { adHocDatabase } from "../../src/lib/config/databases.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import {
  type Manifest,
  PACK_FILE_RE,
  PACK_INDEX_RE,
  parseManifest,
  type StoredPages,
} from "../../src/lib/model/index.ts";
import { indexKey, openManifestMeta, openSealed, seal } from "../../src/lib/pages/index.ts";
import { reassemblePages } from "../../src/lib/restore/index.ts";
import { listBackups, openLocalFolder, type StoredBackup } from "../../src/lib/store/index.ts";
import { integrityCheck, makeDatabase, queryAll } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const ID_KEY = new Uint8Array(32).fill(7);
const ROWS = 4000;

function setup(opts: { encryption?: { type: "recipients"; recipients: string[] } } = {}) {
  const dir = tempDir();
  const dbPath = makeDatabase(join(dir, "app.db"), { rows: ROWS, payloadBytes: 1024 });
  const base = loadConfig({ backupDir: join(dir, "backups") }, { HOME: dir }, dir);
  const config = { ...base, encryption: opts.encryption ?? null };
  const db = adHocDatabase(config, dbPath);
  const folder = join(config.backupDir, db.name);
  return { dir, dbPath, config, db, folder };
}

type Setup = ReturnType<typeof setup>;

async function backup(s: Setup, extra: Partial<Parameters<typeof writePagesBackup>[2]> = {}) {
  const r = await writePagesBackup(s.config, s.db, {
    kind: "manual",
    tags: ["t"],
    dryRun: false,
    idKey: ID_KEY,
    ...extra,
  });
  expect(r.error).toBeUndefined();
  expect(r.ok).toBe(true);
  const manifest = parseManifest(readFileSync(r.manifestPath!, "utf8"), `${r.id}.json`, s.db.name);
  const b: StoredBackup = { manifest, manifestPath: r.manifestPath!, dataPath: r.dataPath! };
  return { r, b, pages: manifest.stored as StoredPages };
}

const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
const newBytes = (p: StoredPages) => p.packs.reduce((n, x) => n + (x.new ? x.size : 0), 0);
const packFiles = (folder: string) => readdirSync(folder).filter((n) => PACK_FILE_RE.test(n));

/** Rewrites 1% of the rows' payloads (spread over the table) in one transaction. */
function changeOnePercent(path: string) {
  const db = new Database(path);
  db.run("UPDATE items SET payload = randomblob(1024) WHERE id % 100 = 7");
  db.close();
}

async function restoredSha(s: Setup, b: StoredBackup, keys = NO_KEYS): Promise<string> {
  const target = join(s.dir, `restored-${b.manifest.id}.db`);
  const out = await reassemblePages(b, s.folder, keys, target);
  // An encrypted backup records it in its meta block, which the same keys open.
  const recorded = (await openManifestMeta(b.manifest, keys, null)).raw.sha256;
  expect(out.rawSha256).toBe(recorded!);
  expect(sha256(target)).toBe(recorded!);
  expect(integrityCheck(target)).toBe("ok");
  return out.rawSha256!;
}

describe("writePagesBackup → reassemblePages", () => {
  it("round-trips, and a second backup after 1% of changes stores a small fraction of the first", async () => {
    const s = setup();
    const first = await backup(s);
    expect(first.pages.format).toBe("pages");
    expect(first.pages.packs.length).toBeGreaterThan(0);
    expect(first.pages.packs.every((p) => p.new === true)).toBe(true);
    expect(first.b.manifest.raw.size).toBe(first.b.manifest.snapshot.page_count * first.pages.page_size);
    expect(first.b.manifest.check.ok).toBe(true);
    expect(first.b.manifest.tags).toEqual(["t"]);
    expect(first.b.manifest.snapshot.tables!.items).toBe(ROWS);
    await restoredSha(s, first.b);

    changeOnePercent(s.dbPath);
    const second = await backup(s);
    expect(second.b.manifest.raw.sha256).not.toBe(first.b.manifest.raw.sha256);
    expect(newBytes(second.pages)).toBeGreaterThan(0);
    expect(newBytes(second.pages)).toBeLessThan(0.2 * newBytes(first.pages));
    // It references the first backup's pack for the pages that did not change.
    expect(second.pages.packs.some((p) => !p.new && first.pages.packs.some((q) => q.name === p.name))).toBe(true);
    expect(second.r.storedSize).toBe(second.b.manifest.stored.size + newBytes(second.pages));
    await restoredSha(s, second.b);
    await restoredSha(s, first.b); // the first still restores alone

    const listing = await listBackups(openLocalFolder(s.config.backupDir), s.db.name);
    expect(listing.problems).toEqual([]);
    expect(listing.backups.map((b) => b.manifest.id)).toEqual([first.r.id!, second.r.id!]);
    expect(listing.backups.every((b) => b.manifest.stored.format === "pages")).toBe(true);
    expect(listing.pieces.unreferenced).toEqual([]);
  });

  it("writes no new pack for an unchanged database", async () => {
    const s = setup();
    const first = await backup(s);
    const packs = packFiles(s.folder);
    const second = await backup(s);
    expect(second.b.manifest.raw.sha256).toBe(first.b.manifest.raw.sha256);
    expect(second.pages.packs.some((p) => p.new)).toBe(false);
    expect(packFiles(s.folder)).toEqual(packs);
    expect(second.r.storedSize).toBe(second.b.manifest.stored.size);
    await restoredSha(s, second.b);
  });

  it("stores the pages again when the index of a pack is missing", async () => {
    const s = setup();
    const first = await backup(s);
    for (const n of readdirSync(s.folder).filter((x) => PACK_INDEX_RE.test(x)))
      Bun.spawnSync(["rm", join(s.folder, n)]);
    const second = await backup(s);
    expect(second.pages.packs.every((p) => p.new === true)).toBe(true);
    expect(second.pages.packs.some((p) => first.pages.packs.some((q) => q.name === p.name))).toBe(false);
    await restoredSha(s, second.b);
  });

  it("backs up a database whose page size changed (VACUUM) and one a VACUUM rewrote, each restoring alone", async () => {
    const s = setup();
    const first = await backup(s);
    const db = new Database(s.dbPath);
    db.run("PRAGMA journal_mode = delete"); // the page size of a WAL database cannot change
    db.run("PRAGMA page_size = 8192");
    db.run("VACUUM");
    db.close();
    const resized = await backup(s);
    expect(resized.pages.page_size).toBe(8192);
    expect(resized.pages.packs.every((p) => p.new === true)).toBe(true);
    await restoredSha(s, resized.b);
    const vacuumed = new Database(s.dbPath);
    vacuumed.run("DELETE FROM items WHERE id % 3 = 0");
    vacuumed.run("VACUUM");
    vacuumed.close();
    const shrunk = await backup(s);
    expect(shrunk.b.manifest.snapshot.page_count).toBeLessThan(resized.b.manifest.snapshot.page_count);
    await restoredSha(s, shrunk.b);
    await restoredSha(s, first.b);
  });

  it("leaves nothing behind when the snapshot of a damaged source fails after whole packs were written", async () => {
    const dir = tempDir();
    const dbPath = makeDatabase(join(dir, "bad.db"), { journalMode: "delete", rows: 10000, payloadBytes: 4096 });
    const conn = new Database(dbPath);
    const root = (
      conn.query("SELECT rootpage FROM sqlite_schema WHERE name = 'items_name'").get() as { rootpage: number }
    ).rootpage;
    const pageSize = (conn.query("PRAGMA page_size").get() as { page_size: number }).page_size;
    conn.close();
    const bytes = readFileSync(dbPath);
    bytes.fill(0xff, (root - 1) * pageSize, (root - 1) * pageSize + 16); // the index's root: not a b-tree page
    writeFileSync(dbPath, bytes);
    expect(bytes.length).toBeGreaterThan(40 * 1024 * 1024); // more than one pack's worth
    const config = loadConfig({ backupDir: join(dir, "backups") }, { HOME: dir }, dir);
    const db = adHocDatabase(config, dbPath);
    const stored: string[] = [];
    const r = await writePagesBackup(config, db, {
      kind: "manual",
      tags: [],
      dryRun: false,
      idKey: ID_KEY,
      onStored: (n) => stored.push(n),
    });
    expect(r.ok).toBe(false);
    expect(r.error).toContain("bad.db");
    expect(stored.filter((n) => PACK_FILE_RE.test(n)).length).toBeGreaterThan(0);
    const left = readdirSync(join(config.backupDir, db.name)).filter((n) => !n.startsWith(".sqlbak-lock"));
    expect(left).toEqual([]);
  });

  it("makes every pack and its index durable before the map, and the map before the manifest", async () => {
    const s = setup();
    await backup(s);
    changeOnePercent(s.dbPath);
    const manifests = () => readdirSync(s.folder).filter((n) => n.endsWith(".json"));
    const before = manifests().length;
    const seen: { name: string; manifests: number; present: boolean }[] = [];
    const onStored = (name: string) =>
      seen.push({ name, manifests: manifests().length, present: existsSync(join(s.folder, name)) });
    const second = await backup(s, { onStored });
    const names = seen.map((e) => e.name);
    expect(names.at(-1)).toBe(`${second.r.id}.json`);
    expect(names.at(-2)).toBe(second.pages.file);
    const newPacks = second.pages.packs.filter((p) => p.new).map((p) => p.name);
    expect(newPacks.length).toBeGreaterThan(0);
    for (const p of newPacks) expect(names.indexOf(p)).toBeLessThan(names.indexOf(second.pages.file));
    expect(seen.every((e) => e.present)).toBe(true);
    // No manifest of this backup exists until every other file is in place.
    expect(seen.slice(0, -1).every((e) => e.manifests === before)).toBe(true);
  });

  it("fails reassembly of every backup that shares a damaged pack, naming the pack", async () => {
    const s = setup();
    const first = await backup(s);
    changeOnePercent(s.dbPath);
    const second = await backup(s);
    const shared = second.pages.packs.find((p) => !p.new && first.pages.packs.some((q) => q.name === p.name))!;
    expect(shared).toBeDefined();
    const path = join(s.folder, shared.name);
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    writeFileSync(path, bytes);
    for (const b of [first.b, second.b]) {
      const target = join(s.dir, `bad-${b.manifest.id}.db`);
      const err = await reassemblePages(b, s.folder, NO_KEYS, target).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(`backup ${b.manifest.id}`);
      expect((err as Error).message).toContain(`pack ${shared.name}`);
      expect(existsSync(target)).toBe(false);
    }
  });
});

describe("writePagesBackup while a writer commits (WAL mode)", () => {
  it("captures one committed state per backup, each reassembling to its SHA-256", async () => {
    const s = setup();
    const proc = Bun.spawn(["bun", join(import.meta.dir, "../helpers/writer.ts"), s.dbPath], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = proc.stderr.getReader();
    await reader.read(); // "ready"
    reader.releaseLock();
    const taken = [];
    try {
      for (let i = 0; i < 3; i++) taken.push(await backup(s));
    } finally {
      proc.kill("SIGTERM");
      const out = JSON.parse(await new Response(proc.stdout).text()) as { commits: number; errors: string[] };
      await proc.exited;
      expect(out.errors).toEqual([]);
    }
    const counters: number[] = [];
    for (const t of taken) {
      await restoredSha(s, t.b);
      const target = join(s.dir, `restored-${t.b.manifest.id}.db`);
      const { n } = (queryAll(target, "SELECT n FROM counter") as { n: number }[])[0]!;
      const { w } = (queryAll(target, "SELECT count(*) AS w FROM items WHERE name = 'writer'") as { w: number }[])[0]!;
      expect(w).toBe(n);
      counters.push(n);
    }
    expect(counters.at(-1)).toBeGreaterThan(0); // the writer committed while the backups ran
    expect(taken.at(-1)!.pages.packs.some((p) => !p.new)).toBe(true);
  });
});

describe("reassemblePages", () => {
  it("refuses an image whose SHA-256 is not the manifest's, leaving no file at the target", async () => {
    const s = setup();
    const { b } = await backup(s);
    const edited: StoredBackup = {
      ...b,
      manifest: { ...b.manifest, raw: { ...b.manifest.raw, sha256: "0".repeat(64) } },
    };
    const target = join(s.dir, "edited.db");
    const err = await reassemblePages(edited, s.folder, NO_KEYS, target).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      `backup ${b.manifest.id} cannot be reassembled: the reassembled image's SHA-256 ${b.manifest.raw.sha256} ` +
        `is not the recorded ${"0".repeat(64)}`,
    );
    expect(readdirSync(s.dir).filter((n) => n.includes("edited"))).toEqual([]);
  });
});

describe("writePagesBackup, encrypted to recipients", () => {
  const id = generateIdentity();
  const encryption = { type: "recipients" as const, recipients: [id.recipient] };
  const sealedIndexes = (folder: string) =>
    readdirSync(folder)
      .filter((n) => PACK_INDEX_RE.test(n))
      .sort();

  it("round-trips with the identity; indexes are sealed under the id key, so a second backup without the identity stores no new pack", async () => {
    const s = setup({ encryption });
    const first = await backup(s);
    const m: Manifest = first.b.manifest;
    expect(m.stored.file.endsWith(".map.zst.age")).toBe(true);
    expect(first.pages.packs.every((p) => p.name.endsWith(".zst.age"))).toBe(true);
    const indexes = sealedIndexes(s.folder);
    expect(indexes.length).toBe(first.pages.packs.length);
    expect(indexes.every((n) => n.endsWith(".idx.sealed"))).toBe(true);
    const idFile = join(s.dir, "identity.txt");
    writeFileSync(idFile, `${id.identity}\n`);
    const keys = loadDecryptionKeys(idFile, encryption, {});
    await restoredSha(s, first.b, keys);
    const noKey = await reassemblePages(first.b, s.folder, NO_KEYS, join(s.dir, "x.db")).catch((e: Error) => e);
    expect((noKey as Error).message).toMatch(/decrypt|identity/);

    // No identity here (no indexKeys): the id key alone opens the sealed indexes.
    const blind = await backup(s);
    expect(blind.pages.packs.some((p) => p.new)).toBe(false);
    await restoredSha(s, blind.b, keys);
  });

  it("skips an index sealed under another id key: its pages are stored again", async () => {
    const s = setup({ encryption });
    const first = await backup(s);
    for (const name of sealedIndexes(s.folder)) {
      const path = join(s.folder, name);
      const plain = openSealed(indexKey(ID_KEY), readFileSync(path));
      writeFileSync(path, seal(indexKey(new Uint8Array(32).fill(9)), plain)); // same index, another key's seal
    }
    const again = await backup(s);
    expect(again.pages.packs.every((p) => p.new === true)).toBe(true);
    expect(newBytes(again.pages)).toBeGreaterThan(newBytes(first.pages) / 2);
  });

  it("still reads an older age-encrypted index (.idx.age) when the identity is at hand, and only then", async () => {
    const s = setup({ encryption });
    await backup(s);
    for (const name of sealedIndexes(s.folder)) {
      const path = join(s.folder, name);
      const plain = openSealed(indexKey(ID_KEY), readFileSync(path));
      writeFileSync(
        path.replace(/\.sealed$/, ".age"),
        await encryptBytes(plain, { recipients: [parseRecipient(id.recipient)] }),
      );
      unlinkSync(path);
    }
    // With the identity first (a backup without it would store every page again, into sealed indexes).
    const seeing = await backup(s, { indexKeys: { identities: [parseIdentity(id.identity)] } });
    expect(seeing.pages.packs.some((p) => p.new)).toBe(false);
    const blind = await backup(s);
    expect(blind.pages.packs.every((p) => p.new === true)).toBe(true);
  });
});
