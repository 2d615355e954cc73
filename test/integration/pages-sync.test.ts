/**
 * Copying pages backups to a destination (dir and S3, on s3rver) and reading
 * them back with no local state: a destination receives only the packs it
 * lacks, before the map and with the manifest last; a pack a rotation marked
 * there is uploaded again before a manifest naming it is published; an upload
 * that fails after its packs leaves no listed backup lacking one; a fetch for
 * `--from` into an empty backup_dir reassembles to the recorded SHA-256.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { generateIdentity } from "../../src/age/index.ts";
import { writePagesBackup } from "../../src/lib/backup/index.ts";
import { loadDecryptionKeys, NO_KEYS } from "../../src/lib/codec/index.ts";
import { adHocDatabase } from "../../src/lib/config/databases.ts";
import type { ResolvedDestination, S3Destination } from "../../src/lib/config/destinations.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { withFetched } from "../../src/lib/destinations/catalog.ts";
import { openBackend } from "../../src/lib/destinations/open.ts";
import { syncDestinations, uploadBackup } from "../../src/lib/destinations/sync.ts";
import { manifestFileName, PACK_INDEX_RE, type StoredPages } from "../../src/lib/model/index.ts";
import { newPackStem } from "../../src/lib/model/names.ts";
import { openManifestMeta } from "../../src/lib/pages/index.ts";
import { reassemblePages } from "../../src/lib/restore/index.ts";
import { listBackups, listFolder } from "../../src/lib/store/index.ts";
import { makeDatabase } from "../helpers/db.ts";
import { recording } from "../helpers/recording-backend.ts";
import { S3_KEY, type S3Server, startS3 } from "../helpers/s3.ts";
import { tempDir } from "../helpers/tmp.ts";

const ID_KEY = new Uint8Array(32).fill(7);

let s3: S3Server;
let s3Prefix = 0;
const savedEnv = { ...process.env };
beforeAll(async () => {
  s3 = await startS3();
  // syncDestinations opens the destination itself, reading the credentials from the environment.
  Object.assign(process.env, S3_KEY);
});
afterAll(async () => {
  await s3.stop();
  for (const k of Object.keys(S3_KEY)) if (savedEnv[k] === undefined) delete process.env[k];
});

const kinds: { name: string; dest: (dir: string) => ResolvedDestination }[] = [
  { name: "dir", dest: (dir) => ({ name: "nas", type: "dir", uploadCheck: "checksum", path: dir }) },
  {
    name: "s3",
    dest: (): S3Destination => ({
      name: "offsite",
      type: "s3",
      uploadCheck: "checksum",
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      prefix: `pages-sync/${++s3Prefix}`,
      region: "us-east-1",
      accessKeyIdEnv: "AWS_ACCESS_KEY_ID",
      secretAccessKeyEnv: "AWS_SECRET_ACCESS_KEY",
      sessionTokenEnv: "AWS_SESSION_TOKEN",
      virtualHostedStyle: false,
    }),
  },
];

type Encryption = { type: "recipients"; recipients: string[] } | null;

async function setup(kind: (typeof kinds)[number], encryption: Encryption = null) {
  const dir = tempDir();
  const dbPath = makeDatabase(join(dir, "app.db"), { rows: 4000, payloadBytes: 1024 });
  const base = loadConfig({ backupDir: join(dir, "backups") }, { HOME: dir }, dir);
  const dest = kind.dest(tempDir());
  const config = { ...base, encryption, destinations: [dest] };
  const db = adHocDatabase(config, dbPath);
  const backend = await openBackend(dest);
  const backup = async () => {
    const r = await writePagesBackup(config, db, { kind: "manual", tags: [], dryRun: false, idKey: ID_KEY });
    expect(r.error).toBeUndefined();
    const local = await listFolder(config.backupDir, db.name);
    const b = local.backups.find((x) => x.manifest.id === r.id)!;
    return { b, pages: b.manifest.stored as StoredPages };
  };
  const sync = async () => {
    const [r] = await syncDestinations(config, [db.name]);
    expect(r!.error).toBeUndefined();
    expect(r!.ok).toBe(true);
    return r!;
  };
  const remoteNames = async () => (await backend.list(`${db.name}/`)).map((f) => f.key.split("/")[1]!).sort();
  return { dir, dbPath, config, dest, db, backend, backup, sync, remoteNames, folder: join(config.backupDir, db.name) };
}

function changeOnePercent(path: string) {
  const db = new Database(path);
  db.run("UPDATE items SET payload = randomblob(1024) WHERE id % 100 = 7");
  db.close();
}

/** The name of the index beside a pack (same stem; an encrypted pack's is sealed under the id key). */
const indexOf = (pack: string) => pack.replace(/\.zst(\.age)?$/, (_, age) => (age ? ".idx.sealed" : ".idx"));

/** Bytes of the local index beside each pack named (every pack the backups here wrote has one). */
function indexBytes(folder: string, packs: string[]): number {
  let n = 0;
  for (const p of packs) {
    const idx = indexOf(p);
    expect(PACK_INDEX_RE.test(idx)).toBe(true);
    n += statSync(join(folder, idx)).size;
  }
  return n;
}

for (const kind of kinds) {
  describe(`pages backups at a ${kind.name} destination`, () => {
    it("a second backup uploads only the packs the destination lacks; the destination lists both", async () => {
      const s = await setup(kind);
      const first = await s.backup();
      const r1 = await s.sync();
      expect(r1.uploaded).toEqual([first.b.manifest.id]);
      const firstPacks = first.pages.packs.map((p) => p.name);
      const packBytes1 = first.pages.packs.reduce((n, p) => n + p.size, 0);
      expect(r1.uploaded_bytes).toBe(first.pages.size + packBytes1 + indexBytes(s.folder, firstPacks));

      changeOnePercent(s.dbPath);
      const second = await s.backup();
      const reused = second.pages.packs.filter((p) => !p.new);
      const fresh = second.pages.packs.filter((p) => p.new);
      expect(reused.length).toBeGreaterThan(0);
      expect(fresh.length).toBeGreaterThan(0);
      const r2 = await s.sync();
      expect(r2.uploaded).toEqual([second.b.manifest.id]);
      expect(r2.already_there).toBe(1);
      const freshBytes = fresh.reduce((n, p) => n + p.size, 0);
      expect(r2.uploaded_bytes).toBe(
        second.pages.size +
          freshBytes +
          indexBytes(
            s.folder,
            fresh.map((p) => p.name),
          ),
      );
      expect(r2.uploaded_bytes).toBeLessThan(0.3 * r1.uploaded_bytes);

      const listing = await listBackups(s.backend, s.db.name);
      expect(listing.problems).toEqual([]);
      expect(listing.backups.map((b) => b.manifest.id)).toEqual([first.b.manifest.id, second.b.manifest.id]);
      expect(listing.pieces.unreferenced).toEqual([]);
      // Every pack and index of both backups is there, and nothing else but maps and manifests.
      const local = readdirSync(s.folder).filter(
        (n) => !n.startsWith(".") && (n.startsWith("pack-") || n.endsWith(".json") || n.includes(".map.")),
      );
      expect(await s.remoteNames()).toEqual(local.sort());
      // A third sync has nothing to send.
      const r3 = await s.sync();
      expect(r3).toMatchObject({ uploaded: [], uploaded_bytes: 0, already_there: 2 });
    });

    it("uploads again a pack a mark there lists before publishing a manifest that names it", async () => {
      const s = await setup(kind);
      const first = await s.backup();
      await s.sync();
      changeOnePercent(s.dbPath);
      const second = await s.backup();
      const reused = second.pages.packs.find((p) => !p.new)!;
      const fresh = second.pages.packs.find((p) => p.new)!;
      // A rotation there found `reused` unreferenced and marked it (as after its backup was rotated away).
      const markDir = tempDir();
      const markName = `free-${newPackStem(new Date()).slice(5)}.json`;
      writeFileSync(join(markDir, markName), JSON.stringify({ format: 1, pieces: [reused.name] }));
      await s.backend.put(join(markDir, markName), `${s.db.name}/${markName}`);
      // ... and removes it while this upload runs, after the upload found it there and skipped it.
      const key = (name: string) => `${s.db.name}/${name}`;
      const rec = recording(s.backend, async (k) => {
        if (k === key(second.pages.file)) await s.backend.remove(key(reused.name));
      });
      expect(await uploadBackup(rec.backend, s.dest, second.b)).toBe(true);
      const order = rec.puts;
      const manifestKey = key(manifestFileName(second.b.manifest.id));
      expect(order.indexOf(key(fresh.name))).toBeLessThan(order.indexOf(key(second.pages.file)));
      expect(order.indexOf(key(second.pages.file))).toBeLessThan(order.lastIndexOf(key(reused.name)));
      expect(order.filter((k) => k === key(reused.name))).toHaveLength(1);
      expect(order.at(-1)).toBe(manifestKey);
      const listing = await listBackups(s.backend, s.db.name);
      expect(listing.problems).toEqual([]);
      expect(listing.backups.map((b) => b.manifest.id)).toEqual([first.b.manifest.id, second.b.manifest.id]);
    });

    it("an upload failing after the packs leaves no listed backup lacking a pack; the next sync completes it", async () => {
      const s = await setup(kind);
      await s.backup();
      await s.sync();
      changeOnePercent(s.dbPath);
      const second = await s.backup();
      const key = (name: string) => `${s.db.name}/${name}`;
      const manifestKey = key(manifestFileName(second.b.manifest.id));
      for (const failing of [key(second.pages.file), manifestKey]) {
        const rec = recording(s.backend, async (k) => {
          if (k === failing) throw new Error("connection reset");
        });
        await expect(uploadBackup(rec.backend, s.dest, second.b)).rejects.toThrow("connection reset");
        const listing = await listBackups(s.backend, s.db.name);
        expect(listing.problems).toEqual([]);
        expect(listing.backups.map((b) => b.manifest.id)).not.toContain(second.b.manifest.id);
        for (const b of listing.backups)
          for (const p of (b.manifest.stored as StoredPages).packs)
            expect(listing.pieces.referenced.map((x) => x.name)).toContain(p.name);
      }
      // The new packs are there already: the next sync sends the map again (a leftover) and the manifest.
      const r = await s.sync();
      expect(r.uploaded).toEqual([second.b.manifest.id]);
      expect(r.uploaded_bytes).toBe(second.pages.size);
      const listing = await listBackups(s.backend, s.db.name);
      expect(listing.problems).toEqual([]);
      expect(listing.backups.map((b) => b.manifest.id)).toContain(second.b.manifest.id);
    });

    it("--from: a backup fetched into an empty backup_dir reassembles to its recorded SHA-256", async () => {
      const s = await setup(kind);
      await s.backup();
      changeOnePercent(s.dbPath);
      const second = await s.backup();
      await s.sync();
      // Another machine: only the config, no backup_dir.
      const fresh = tempDir();
      const config = { ...s.config, backupDir: join(fresh, "backups") };
      const [listed] = (await listBackups(s.backend, s.db.name)).backups.filter(
        (b) => b.manifest.id === second.b.manifest.id,
      );
      const target = join(fresh, "restored.db");
      const staged = await withFetched(config, s.backend, listed!, async (local) => {
        const folder = dirname(local.dataPath);
        const names = readdirSync(folder).sort();
        const out = await reassemblePages(local, folder, NO_KEYS, target);
        return { names, out };
      });
      const want = [
        second.pages.file,
        manifestFileName(second.b.manifest.id),
        ...second.pages.packs.map((p) => p.name),
      ];
      expect(staged.names).toEqual(want.sort());
      expect(staged.out.rawSha256).toBe(second.b.manifest.raw.sha256!);
      expect(new Bun.CryptoHasher("sha256").update(await Bun.file(target).bytes()).digest("hex")).toBe(
        second.b.manifest.raw.sha256!,
      );
      // The staging folder is gone again.
      expect(readdirSync(config.backupDir).filter((n) => n.startsWith(".sqlbak-fetch-"))).toEqual([]);
      expect(existsSync(target)).toBe(true);
    });
    it("removes a stale map whose backup is gone locally (an interrupted upload's), never a young one", async () => {
      const s = await setup(kind);
      const current = await s.backup();
      const dir = tempDir();
      const stale = "app-20250101T000000000Z-0000abcd.map.zst";
      const young = `app-${new Date().toISOString().replace(/[-:.]/g, "")}-0000beef.map.zst`;
      for (const n of [stale, young]) {
        writeFileSync(join(dir, n), "partial");
        await s.backend.put(join(dir, n), `${s.db.name}/${n}`);
      }
      const r = await s.sync();
      expect(r.uploaded).toEqual([current.b.manifest.id]);
      expect(r.removed_partials).toEqual([`${s.db.name}/${stale}`]);
      const names = await s.remoteNames();
      expect(names).toContain(young);
      expect(names).not.toContain(stale);
    });

    it("encrypted to recipients: packs and their sealed indexes are copied, and --from opens them with the identity", async () => {
      const id = generateIdentity();
      const encryption = { type: "recipients" as const, recipients: [id.recipient] };
      const s = await setup(kind, encryption);
      const first = await s.backup();
      await s.sync();
      const names = await s.remoteNames();
      for (const p of first.pages.packs) {
        expect(p.name.endsWith(".zst.age")).toBe(true);
        expect(names).toContain(p.name);
        expect(names).toContain(indexOf(p.name));
      }
      const idFile = join(s.dir, "identity.txt");
      writeFileSync(idFile, `${id.identity}\n`);
      const keys = loadDecryptionKeys(idFile, encryption, {});
      const fresh = tempDir();
      const config = { ...s.config, backupDir: join(fresh, "backups") };
      const [listed] = (await listBackups(s.backend, s.db.name)).backups;
      const out = await withFetched(config, s.backend, listed!, (local) =>
        reassemblePages(local, dirname(local.dataPath), keys, join(fresh, "restored.db")),
      );
      // Encrypted: the recorded raw SHA-256 is in the manifest's meta block.
      expect(out.rawSha256).toBe((await openManifestMeta(first.b.manifest, keys, null)).raw.sha256!);
    });
  });
}
