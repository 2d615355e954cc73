/**
 * The copy step's edge cases, on a real dir destination and real backups:
 * a backup rotated away mid-upload is not published, stale leftovers of
 * rotated-away backups are removed (young ones are not), and a failed read-back
 * checksum leaves no manifest remotely.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DirDestination } from "../../src/lib/config/destinations.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { syncDestinations, uploadBackup } from "../../src/lib/destinations/sync.ts";
import type { Backend } from "../../src/lib/store/backend.ts";
import { listFolder } from "../../src/lib/store/local.ts";
import { openLocalFolder } from "../../src/lib/store/local-folder.ts";
import { backupNow, makeProject } from "../helpers/backups.ts";

/** Backup files (`<id>.*`) at the destination, leaving out the packs and id key copy incremental backups share. */
const backupFiles = (folder: string) => readdirSync(folder).filter((f) => f.startsWith("app-"));

async function setup() {
  const p = makeProject({ dbToml: `[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n` });
  mkdirSync(join(p.dir, "nas"));
  await backupNow(p);
  const config = loadConfig({}, { HOME: p.dir }, p.dir);
  const dest = config.destinations[0] as DirDestination;
  return { p, config, dest, backend: openLocalFolder(dest.path, "destination"), nasApp: join(p.dir, "nas", "app") };
}

describe("copying to a destination", () => {
  it(`does not publish a backup whose local manifest vanished during the upload (rotated away), \
and removes its data again`, async () => {
    const { p, dest, backend, nasApp } = await setup();
    const [b] = (await listFolder(join(p.dir, "backups"), "app")).backups;
    rmSync(nasApp, { recursive: true });
    rmSync(b!.manifestPath);
    expect(await uploadBackup(backend, dest, b!)).toBe(false);
    expect(backupFiles(nasApp)).toEqual([]);
    // An incremental backup's packs may already serve other backups there: they stay, unreferenced pieces that
    // rotation at the destination frees once stale, as it does after a killed upload.
    expect(readdirSync(nasApp).filter((f) => !f.startsWith("pack-") && !f.startsWith("id-key-"))).toEqual([]);
  });

  it("a read-back that does not match the manifest fails the copy and leaves no manifest remotely", async () => {
    const { p, dest, backend, nasApp } = await setup();
    const [b] = (await listFolder(join(p.dir, "backups"), "app")).backups;
    rmSync(nasApp, { recursive: true });
    // A destination that stores what it is given but returns other bytes of the same size.
    const lying: Backend = {
      ...backend,
      async get(key, localPath) {
        await backend.get(key, localPath);
        const bytes = await Bun.file(localPath).bytes();
        bytes[0] = bytes[0]! ^ 0xff;
        await Bun.write(localPath, bytes);
      },
    };
    await expect(uploadBackup(lying, dest, b!)).rejects.toThrow(
      /reads back with sha256 .* (manifest says|the local copy is)/,
    );
    expect(existsSync(join(nasApp, `${b!.manifest.id}.json`))).toBe(false);
    // No read-back temporary is left beside the local backup.
    expect(readdirSync(join(p.dir, "backups", "app")).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it(`removes leftovers of rotated-away backups once over an hour old, \
never younger ones or ones still local`, async () => {
    const { p, config, nasApp } = await setup();
    const [b] = (await listFolder(join(p.dir, "backups"), "app")).backups;
    const old = "app-20250101T000000000Z-0000abcd.sqlite.zst";
    const oldEncrypted = "app-20250101T000000000Z-0000cafe.sqlite.zst.age";
    const young = `app-${new Date().toISOString().replace(/[-:.]/g, "")}-0000beef.sqlite.zst`;
    writeFileSync(join(nasApp, old), "partial");
    writeFileSync(join(nasApp, oldEncrypted), "partial");
    writeFileSync(join(nasApp, young), "partial");
    rmSync(join(nasApp, `${b!.manifest.id}.json`)); // the local backup's own upload, interrupted before its manifest
    const [r] = await syncDestinations(config, ["app"]);
    expect(r).toMatchObject({ ok: true, uploaded: [b!.manifest.id] });
    expect(r!.removed_partials.sort()).toEqual([`app/${old}`, `app/${oldEncrypted}`]);
    expect(backupFiles(nasApp).sort()).toEqual([`${b!.manifest.id}.json`, b!.manifest.stored.file, young].sort());
  });
});
