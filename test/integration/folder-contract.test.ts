/**
 * The folder contract (src/lib/store/backend.ts) and the one listing routine
 * (listBackups), checked by one table of cases over every implementation:
 * backup_dir as a local folder, a `dir` destination opened by the registry,
 * and the S3 backend on a real S3 server (s3rver on 127.0.0.1).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DirDestination, S3Destination } from "../../src/lib/config/destinations.ts";
import { openBackend } from "../../src/lib/destinations/open.ts";
import { createS3Backend } from "../../src/lib/destinations/s3.ts";
import { MAX_MANIFEST_BYTES, type Manifest, serializeManifest } from "../../src/lib/model/manifest.ts";
import type { Backend } from "../../src/lib/store/backend.ts";
import { listBackups } from "../../src/lib/store/list.ts";
import { openLocalFolder } from "../../src/lib/store/local-folder.ts";
import { fileStored, manifestFixture } from "../helpers/manifest-fixture.ts";
import { S3_KEY, type S3Server, startS3 } from "../helpers/s3.ts";
import { tempDir } from "../helpers/tmp.ts";

interface Opened {
  folder: Backend;
  /** The folder on this machine, for the implementations that have one (symlinks can be planted there). */
  root?: string;
}

interface Implementation {
  name: string;
  open(): Promise<Opened>;
  /** What the listing of each is expected to do where implementations differ on purpose. */
  checkSizes: boolean;
  /** A `<database>` folder that is a symlink: followed (backup_dir, as always), refused, or not a thing there. */
  symlinkedFolder: "follow" | "refuse" | null;
  /** How files are named in listings and problems. */
  pathOf(opened: Opened, key: string): string;
}

let s3: S3Server;
let s3Prefix = 0;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.stop();
});

const IMPLEMENTATIONS: Implementation[] = [
  {
    name: "backup_dir (local folder)",
    async open() {
      const root = tempDir();
      return { folder: openLocalFolder(root), root };
    },
    checkSizes: false,
    symlinkedFolder: "follow",
    pathOf: (o, key) => join(o.root!, key),
  },
  {
    name: "dir destination",
    async open() {
      const root = tempDir();
      const dest: DirDestination = { name: "nas", type: "dir", uploadCheck: "checksum", path: root };
      return { folder: await openBackend(dest), root };
    },
    checkSizes: true,
    symlinkedFolder: "refuse",
    pathOf: (o, key) => `dir:${o.root}/${key}`,
  },
  {
    name: "s3 destination",
    async open() {
      const dest: S3Destination = {
        name: "offsite",
        type: "s3",
        uploadCheck: "checksum",
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        prefix: `contract/${++s3Prefix}`,
        region: "us-east-1",
        accessKeyIdEnv: "AWS_ACCESS_KEY_ID",
        secretAccessKeyEnv: "AWS_SECRET_ACCESS_KEY",
        sessionTokenEnv: "AWS_SESSION_TOKEN",
        virtualHostedStyle: false,
      };
      return { folder: createS3Backend(dest, S3_KEY) };
    },
    checkSizes: true,
    symlinkedFolder: null,
    pathOf: (o, key) => `${o.folder.describe}/${key}`,
  },
];

const id = (n: number) => `app-2026010${n}T000000000Z-0000000${n}`;

function manifest(backupId: string, size: number): Manifest {
  return manifestFixture(backupId, {
    created_at: `2026-01-0${backupId.slice(11, 12)}T00:00:00.000Z`,
    stored: fileStored(backupId, size),
  });
}

/** A pages backup's manifest: its map `<id>.map.zst` (4 bytes) and the packs it names, with their sizes. */
function pagesManifest(backupId: string, packs: [string, number][]): Manifest {
  const m = manifest(backupId, 4);
  m.stored = {
    ...m.stored,
    format: "pages",
    file: `${backupId}.map.zst`,
    compression: "zstd",
    packs: packs.map(([name, size]) => ({ name, size, sha256: "b".repeat(64) })),
    page_size: 4096,
    pages_per_frame: 256,
  };
  return m;
}

/** Puts `text` under `key` through the contract (every implementation plants the same way). */
async function putText(folder: Backend, key: string, text: string | Buffer): Promise<void> {
  const file = join(tempDir(), "upload");
  writeFileSync(file, text);
  await folder.put(file, key);
}

/** Records which keys the listing reads, so a refusal "before reading" can be checked. */
function spying(folder: Backend): { folder: Backend; read: string[] } {
  const read: string[] = [];
  return {
    read,
    folder: {
      ...folder,
      readText: (key) => {
        read.push(key);
        return folder.readText(key);
      },
    },
  };
}

for (const impl of IMPLEMENTATIONS) {
  describe(`folder contract: ${impl.name}`, () => {
    it("put, stat, get, readText, list and remove; a missing key is null, a second remove succeeds", async () => {
      const o = await impl.open();
      const { folder } = o;
      await putText(folder, "app/a.bin", "hello");
      await putText(folder, "other/b.bin", "world!");
      expect(await folder.stat("app/a.bin")).toMatchObject({ key: "app/a.bin", size: 5 });
      expect(await folder.stat("app/none.bin")).toBeNull();
      expect(await folder.readText("app/a.bin")).toBe("hello");
      expect(await folder.readText("app/none.json")).toBeNull();
      const back = join(tempDir(), "back");
      await folder.get("app/a.bin", back);
      expect(readFileSync(back, "utf8")).toBe("hello");
      await expect(folder.get("app/none.bin", join(tempDir(), "x"))).rejects.toThrow();
      expect((await folder.list("app/")).map((f) => [f.key, f.size])).toEqual([["app/a.bin", 5]]);
      expect((await folder.list("")).map((f) => f.key).sort()).toEqual(["app/a.bin", "other/b.bin"]);
      expect(await folder.list("empty/")).toEqual([]);
      await folder.remove("app/a.bin");
      await folder.remove("app/a.bin");
      expect(await folder.stat("app/a.bin")).toBeNull();
      await folder.close();
      await folder.close();
    });

    it("refuses a key that could climb out of its root", async () => {
      const { folder } = await impl.open();
      for (const key of ["../app/x.json", "app/../x.json", "app/x/y.json", "app"])
        await expect(folder.stat(key)).rejects.toThrow(/unsafe destination key/);
    });

    it("lists the same planted files the same way: backups, partials, problems, missing data", async () => {
      const o = await impl.open();
      const { folder } = o;
      await putText(folder, `app/${id(1)}.json`, serializeManifest(manifest(id(1), 4)));
      await putText(folder, `app/${id(1)}.sqlite.zst`, "data");
      await putText(folder, `app/${id(2)}.sqlite.zst`, "orphan"); // data without any manifest: a partial
      await putText(folder, `app/${id(3)}.json`, "{ not json");
      await putText(folder, `app/${id(3)}.sqlite.zst`, "kept"); // beside an unreadable manifest: never a partial
      await putText(folder, `app/${id(4)}.json`, serializeManifest(manifest(id(4), 4))); // its data is gone
      await putText(folder, `app/${id(5)}.json`, serializeManifest(manifest(id(5), 999)));
      await putText(folder, `app/${id(5)}.sqlite.zst`, "four");
      await putText(folder, "app/notes.txt", "not ours");

      const l = await listBackups(folder, "app");
      const sized = impl.checkSizes ? [] : [id(5)];
      expect(l.backups.map((b) => b.manifest.id)).toEqual([id(1), ...sized]);
      expect(l.backups[0]).toMatchObject({
        manifestKey: `app/${id(1)}.json`,
        dataKey: `app/${id(1)}.sqlite.zst`,
        manifestPath: impl.pathOf(o, `app/${id(1)}.json`),
        dataPath: impl.pathOf(o, `app/${id(1)}.sqlite.zst`),
      });
      expect(l.partials.map((p) => [p.key, p.path, p.size])).toEqual([
        [`app/${id(2)}.sqlite.zst`, impl.pathOf(o, `app/${id(2)}.sqlite.zst`), 6],
      ]);
      expect(l.problems.map((p) => [p.id, p.path, p.reason])).toEqual([
        [id(3), impl.pathOf(o, `app/${id(3)}.json`), "manifest is not valid JSON"],
        [id(4), impl.pathOf(o, `app/${id(4)}.json`), `data file ${id(4)}.sqlite.zst is missing`],
        ...(impl.checkSizes
          ? [[id(5), impl.pathOf(o, `app/${id(5)}.json`), "data file is 4 bytes, manifest says 999"]]
          : []),
      ]);
      expect(l.missingData.map((b) => b.manifest.id)).toEqual([id(4)]);
      expect(l.folder).toBe(impl.pathOf(o, "app"));
      expect(await listBackups(folder, "nothing")).toMatchObject({ backups: [], partials: [], problems: [] });
    });

    it("lists pages backups by their map and packs, and classifies every pack and index", async () => {
      const o = await impl.open();
      const { folder } = o;
      const shared = "pack-20260101T000000000Z-00000000000000aa"; // named by two backups
      const gone = "pack-20260101T000000000Z-00000000000000bb"; // named, never uploaded
      const short = "pack-20260101T000000000Z-00000000000000cc"; // named, smaller than promised
      const old = "pack-20260101T000000000Z-00000000000000dd"; // named by no one, long ago
      const young = "pack-20260110T115500000Z-00000000000000ee"; // named by no one, five minutes ago
      const now = new Date("2026-01-10T12:00:00.000Z");
      await putText(folder, `app/${id(1)}.json`, serializeManifest(pagesManifest(id(1), [[`${shared}.zst`, 6]])));
      await putText(folder, `app/${id(1)}.map.zst`, "map1");
      await putText(folder, `app/${shared}.zst`, "shared");
      await putText(folder, `app/${shared}.idx`, "idx");
      const two = pagesManifest(id(2), [
        [`${shared}.zst`, 6],
        [`${gone}.zst`, 6],
      ]);
      await putText(folder, `app/${id(2)}.json`, serializeManifest(two));
      await putText(folder, `app/${id(2)}.map.zst`, "map2");
      await putText(folder, `app/${id(3)}.json`, serializeManifest(pagesManifest(id(3), [[`${short}.zst`, 99]])));
      await putText(folder, `app/${id(3)}.map.zst`, "map3");
      await putText(folder, `app/${short}.zst`, "short");
      await putText(folder, `app/${id(4)}.map.zst`, "orphan"); // a map without any manifest: a partial
      for (const name of [`${old}.zst`, `${old}.idx`, `${young}.zst`]) await putText(folder, `app/${name}`, "x");

      const l = await listBackups(folder, "app", now);
      const sized = impl.checkSizes ? [] : [id(3)];
      expect(l.backups.map((b) => [b.manifest.id, b.dataKey])).toEqual(
        [id(1), ...sized].map((i) => [i, `app/${i}.map.zst`]),
      );
      expect(l.problems.map((p) => [p.id, p.path, p.reason])).toEqual([
        [id(2), impl.pathOf(o, `app/${id(2)}.json`), `pack ${gone}.zst is missing`],
        ...(impl.checkSizes
          ? [[id(3), impl.pathOf(o, `app/${id(3)}.json`), `pack ${short}.zst is 5 bytes, manifest says 99`]]
          : []),
      ]);
      expect(l.missingData.map((b) => b.manifest.id)).toEqual([id(2)]);
      expect(l.partials.map((p) => [p.key, p.size])).toEqual([[`app/${id(4)}.map.zst`, 6]]);
      const piece = (name: string, size: number) => [`app/${name}`, impl.pathOf(o, `app/${name}`), size];
      expect(l.pieces.referenced.map((p) => [p.key, p.path, p.size])).toEqual([
        piece(`${shared}.idx`, 3),
        piece(`${shared}.zst`, 6),
        piece(`${short}.zst`, 5),
      ]);
      expect(l.pieces.unreferenced.map((p) => [p.name, p.stale])).toEqual([
        [`${old}.idx`, true],
        [`${old}.zst`, true],
        [`${young}.zst`, false],
      ]);
      expect(l.pieces.protected).toEqual([]);

      // A manifest that cannot be parsed might name any of them: nothing is unreferenced any more.
      await putText(folder, `app/${id(5)}.json`, "{ not json");
      const held = await listBackups(folder, "app", now);
      expect(held.pieces.unreferenced).toEqual([]);
      expect(held.pieces.protected.map((p) => p.name)).toEqual([`${old}.idx`, `${old}.zst`, `${young}.zst`]);
      expect(held.pieces.referenced).toEqual(l.pieces.referenced);
      expect(held.problems.map((p) => p.id)).toContain(id(5));
    });

    it("refuses a manifest over the size cap by its listed size, without reading it", async () => {
      const { folder } = await impl.open();
      const huge = join(tempDir(), "huge.json");
      writeFileSync(huge, "");
      truncateSync(huge, MAX_MANIFEST_BYTES + 1);
      await folder.put(huge, `app/${id(1)}.json`);
      await putText(folder, `app/${id(1)}.sqlite.zst`, "data");
      await putText(folder, `app/${id(2)}.json`, serializeManifest(manifest(id(2), 4)));
      await putText(folder, `app/${id(2)}.sqlite.zst`, "data");
      const spy = spying(folder);
      const l = await listBackups(spy.folder, "app");
      expect(l.problems.map((p) => [p.id, p.reason])).toEqual([[id(1), "manifest is too large"]]);
      expect(l.backups.map((b) => b.manifest.id)).toEqual([id(2)]);
      expect(l.partials).toEqual([]);
      expect(spy.read).toEqual([`app/${id(2)}.json`]);
    });

    // S3 has no symlinks: the next two cases do not exist there, so they are not generated (not skipped).
    if (impl.symlinkedFolder !== null)
      it(`a symlinked <database> folder is refused at a destination \
(followed only by backup_dir, as always)`, async () => {
        const o = await impl.open();
        await putText(o.folder, `app/${id(1)}.json`, serializeManifest(manifest(id(1), 4)));
        await putText(o.folder, `app/${id(1)}.sqlite.zst`, "data");
        const elsewhere = join(tempDir(), "app");
        renameSync(join(o.root!, "app"), elsewhere);
        symlinkSync(elsewhere, join(o.root!, "app"));
        if (impl.symlinkedFolder === "follow") {
          expect((await listBackups(o.folder, "app")).backups.map((b) => b.manifest.id)).toEqual([id(1)]);
          return;
        }
        const refused = /is a symlink, not a folder; refusing to follow it/;
        await expect(listBackups(o.folder, "app")).rejects.toThrow(refused);
        await expect(o.folder.list("")).rejects.toThrow(refused);
        await expect(putText(o.folder, `app/${id(2)}.json`, "{}")).rejects.toThrow(refused);
        await expect(o.folder.remove(`app/${id(1)}.json`)).rejects.toThrow(refused);
        await expect(o.folder.readText(`app/${id(1)}.json`)).rejects.toThrow(refused);
        expect(existsSync(join(elsewhere, `${id(1)}.json`))).toBe(true);
        expect(existsSync(join(elsewhere, `${id(2)}.json`))).toBe(false);
      });

    if (impl.symlinkedFolder !== null)
      it("a data file that is a symlink is never a backup, and a symlinked manifest is never read", async () => {
        const o = await impl.open();
        mkdirSync(join(o.root!, "app"));
        const outside = join(tempDir(), "outside");
        writeFileSync(outside, "data");
        writeFileSync(join(o.root!, "app", `${id(1)}.json`), serializeManifest(manifest(id(1), 4)));
        symlinkSync(outside, join(o.root!, "app", `${id(1)}.sqlite.zst`));
        const real = join(tempDir(), "real.json");
        writeFileSync(real, serializeManifest(manifest(id(2), 4)));
        symlinkSync(real, join(o.root!, "app", `${id(2)}.json`));
        const spy = spying(o.folder);
        const l = await listBackups(spy.folder, "app");
        expect(l.backups).toEqual([]);
        expect(l.missingData.map((b) => b.manifest.id)).toEqual([id(1)]);
        expect(l.problems.map((p) => p.id)).toContain(id(1));
        expect(spy.read).toEqual([`app/${id(1)}.json`]);
      });
  });
}
