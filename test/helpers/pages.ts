/**
 * Plants pages (incremental) backups in a real backup folder: manifests that
 * parseManifest accepts (stored.format "pages"), their map files and pack /
 * pack index files under the names of src/lib/model/names.ts. The bytes are
 * filler: these serve the listing, rotation and freeing, which never read a
 * map or a pack.
 */
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  manifestFileName,
  mapFileName,
  newBackupId,
  newPackStem,
  packFileName,
  packIndexName,
} from "../../src/lib/model/names.ts";

import { makeProject } from "./backups.ts";
import { manifestFixture, pagesStored } from "./manifest-fixture.ts";

/** keep_last = 1 and nothing else: every backup but the newest is removed. */
export const PAGES_POLICY = `timezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`;

/** A pack and its index, planted in `folder`, started at `at` (the time in its name). */
export interface PlantedPack {
  stem: string;
  pack: string;
  index: string;
  /** Stored bytes of pack + index. */
  bytes: number;
}

export function plantPack(folder: string, at: Date, packBytes = 1000): PlantedPack {
  mkdirSync(folder, { recursive: true });
  const stem = newPackStem(at);
  const pack = packFileName(stem);
  const index = packIndexName(stem);
  writeFileSync(join(folder, pack), Buffer.alloc(packBytes, 7), { mode: 0o600 });
  writeFileSync(join(folder, index), Buffer.alloc(40, 8), { mode: 0o600 });
  return { stem, pack, index, bytes: packBytes + 40 };
}

/** A scheduled pages backup of `database` taken at `at`, its map and manifest, referencing `packs`. */
export function plantPagesBackup(
  folder: string,
  database: string,
  at: Date,
  packs: PlantedPack[],
  kind: "scheduled" | "manual" = "scheduled",
  packBytes = 1000,
): { id: string; manifest: string; map: string } {
  mkdirSync(folder, { recursive: true });
  const id = newBackupId(database, at);
  const map = mapFileName(id);
  writeFileSync(join(folder, map), Buffer.alloc(300, 9), { mode: 0o600 });
  utimesSync(join(folder, map), at, at);
  const manifest = manifestFixture(id, {
    database,
    created_at: at.toISOString(),
    kind,
    stored: pagesStored(
      id,
      packs.map((p) => ({ name: p.pack, size: packBytes })),
    ),
  });
  writeFileSync(join(folder, manifestFileName(id)), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return { id, manifest: manifestFileName(id), map };
}

/** The file names in `folder`, sorted, without the lock's. */
export function folderNames(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => !f.startsWith(".sqlbak-lock"))
    .sort();
}

const DAY1 = new Date("2025-01-01T10:00:00Z");
const DAY2 = new Date("2025-01-02T10:00:00Z");

/**
 * Two pages backups: `old` (day 1) names `only1` and `shared`, `kept` (day 2) names `shared` and `only2`;
 * plus a stale pack nothing names (an interrupted backup's) and a fresh one (a backup in flight).
 */
export function pagesScenario(dbToml = "") {
  const p = makeProject({ toml: PAGES_POLICY, dbToml });
  const only1 = plantPack(p.folder, DAY1);
  const shared = plantPack(p.folder, DAY1);
  const only2 = plantPack(p.folder, DAY2);
  const leftover = plantPack(p.folder, new Date("2024-12-01T00:00:00Z"));
  const fresh = plantPack(p.folder, new Date());
  const old = plantPagesBackup(p.folder, "app", DAY1, [only1, shared]);
  const kept = plantPagesBackup(p.folder, "app", DAY2, [shared, only2]);
  const names = (...packs: (typeof only1)[]) => packs.flatMap((x) => [x.pack, x.index]).sort();
  return {
    ...p,
    old,
    kept,
    only1,
    shared,
    only2,
    leftover,
    fresh,
    /** What rotate frees: the pack only `old` named and the stale leftover, each with its index. */
    toFree: names(only1, leftover),
    freeBytes: only1.bytes + leftover.bytes,
    /** The folder once rotated: `kept` whole, the fresh pack untouched. */
    after: [kept.manifest, kept.map, ...names(shared, only2, fresh)].sort(),
    before: folderNames(p.folder),
  };
}
