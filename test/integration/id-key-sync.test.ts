/**
 * The id key's copies at a `dir` destination: sync uploads each copy of the
 * database folder the destination lacks, before the first manifest, once;
 * never the local `.sqlbak-id-key`, never over a copy already there, never a
 * plain copy beside encrypted backups; the listing ignores them.
 */
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateIdentity } from "../../src/age/index.ts";
import { backupAsConfigured } from "../../src/lib/backup/index.ts";
import { adHocDatabase } from "../../src/lib/config/databases.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { openBackend } from "../../src/lib/destinations/open.ts";
import { syncDestinations, uploadBackup } from "../../src/lib/destinations/sync.ts";
import { manifestFileName, type StoredPages } from "../../src/lib/model/index.ts";
import { ID_KEY_COPY_RE, LOCAL_ID_KEY_FILE } from "../../src/lib/pages/index.ts";
import { listBackups, listFolder } from "../../src/lib/store/index.ts";
import { makeDatabase } from "../helpers/db.ts";
import { recording } from "../helpers/recording-backend.ts";
import { tempDir } from "../helpers/tmp.ts";

type Encryption = { type: "recipients"; recipients: string[] } | null;

async function setup(encryption: Encryption) {
  const dir = tempDir();
  const dbPath = makeDatabase(join(dir, "app.db"), { rows: 2000, payloadBytes: 512 });
  const base = loadConfig({ backupDir: join(dir, "backups") }, { HOME: dir }, dir);
  const dest = { name: "nas", type: "dir" as const, uploadCheck: "checksum" as const, path: tempDir() };
  const config = { ...base, encryption, destinations: [dest] };
  const db = { ...adHocDatabase(config, dbPath), incremental: true };
  const backend = await openBackend(dest);
  const folder = join(config.backupDir, db.name);
  const backup = async () => {
    const r = await backupAsConfigured(config, db, { kind: "manual", tags: [], dryRun: false });
    expect(r.error).toBeUndefined();
    const b = (await listFolder(config.backupDir, db.name)).backups.find((x) => x.manifest.id === r.id)!;
    expect((b.manifest.stored as StoredPages).format).toBe("pages");
    return b;
  };
  const sync = async () => {
    const [r] = await syncDestinations(config, [db.name]);
    expect(r!.error).toBeUndefined();
    return r!;
  };
  const remoteNames = async () => (await backend.list(`${db.name}/`)).map((f) => f.key.split("/")[1]!).sort();
  const localCopies = () => readdirSync(folder).filter((n) => ID_KEY_COPY_RE.test(n));
  return { config, db, dest, backend, folder, backup, sync, remoteNames, localCopies };
}

for (const encrypted of [false, true]) {
  describe(`id key copies at a dir destination (${encrypted ? "recipients only" : "unencrypted"})`, () => {
    it("the copy goes up before the first manifest, once, and the listing ignores it", async () => {
      const encryption = encrypted ? { type: "recipients" as const, recipients: [generateIdentity().recipient] } : null;
      const s = await setup(encryption);
      const first = await s.backup();
      const copies = s.localCopies();
      expect(copies).toHaveLength(1);
      const copy = copies[0]!;
      expect(copy.endsWith(".age")).toBe(encrypted);

      const rec = recording(s.backend);
      expect(await uploadBackup(rec.backend, s.dest, first)).toBe(true);
      const key = (n: string) => `${s.db.name}/${n}`;
      expect(rec.puts.filter((k) => k === key(copy))).toHaveLength(1);
      expect(rec.puts.indexOf(key(copy))).toBeLessThan(rec.puts.indexOf(key(manifestFileName(first.manifest.id))));
      expect(rec.puts).not.toContain(key(LOCAL_ID_KEY_FILE));
      expect(readFileSync(join(s.dest.path, s.db.name, copy))).toEqual(readFileSync(join(s.folder, copy)));
      expect(await s.remoteNames()).not.toContain(LOCAL_ID_KEY_FILE);

      // A later backup with the same key: its upload sends no copy again.
      await s.backup();
      const before = await s.remoteNames();
      const r = await s.sync();
      expect(r.uploaded).toHaveLength(1);
      const after = await s.remoteNames();
      expect(after.filter((n) => ID_KEY_COPY_RE.test(n))).toEqual([copy]);
      expect(before.filter((n) => ID_KEY_COPY_RE.test(n))).toEqual([copy]);

      const listing = await listBackups(s.backend, s.db.name);
      expect(listing.problems).toEqual([]);
      expect(listing.backups).toHaveLength(2);
      expect(listing.partials).toEqual([]);
      expect(listing.pieces.unreferenced).toEqual([]);
      for (const p of [...listing.pieces.referenced, ...listing.pieces.protected]) expect(p.name).not.toBe(copy);
    });

    it("never replaces a copy already at the destination", async () => {
      const encryption = encrypted ? { type: "recipients" as const, recipients: [generateIdentity().recipient] } : null;
      const s = await setup(encryption);
      await s.backup();
      const copy = s.localCopies()[0]!;
      // Someone else's bytes under the same name (another machine sealed the same key to its recipients).
      const theirs = join(tempDir(), copy);
      writeFileSync(theirs, "their copy");
      await s.backend.put(theirs, `${s.db.name}/${copy}`);
      const r = await s.sync();
      expect(r.uploaded).toHaveLength(1);
      expect(readFileSync(join(s.dest.path, s.db.name, copy), "utf8")).toBe("their copy");
    });
  });
}

it("a plain copy in the folder never goes up beside encrypted backups", async () => {
  const s = await setup({ type: "recipients", recipients: [generateIdentity().recipient] });
  await s.backup();
  // Left from a time when backups here were not encrypted.
  const plain = "id-key-0123456789abcdef";
  writeFileSync(join(s.folder, plain), new Uint8Array(32).fill(1));
  await s.sync();
  const names = await s.remoteNames();
  expect(names).not.toContain(plain);
  expect(names.filter((n) => ID_KEY_COPY_RE.test(n))).toHaveLength(1);
});
