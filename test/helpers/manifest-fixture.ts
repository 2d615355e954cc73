/**
 * Valid manifests for tests that plant backups by hand: every field set to a
 * plain value, so a test states only what it is about (its id, kind, time,
 * stored section). They pass parseManifest; see docs/storage.md and docs/format.md.
 */
import type { Manifest } from "../../src/lib/model/index.ts";

export const FIXTURE_SHA = "a".repeat(64);

type Stored = Manifest["stored"];

/** A file backup's stored section: `<id>.sqlite.zst`, `size` bytes. */
export function fileStored(id: string, size = 4, encryption: Stored["encryption"] = null): Stored {
  const file = `${id}.sqlite.zst${encryption ? ".age" : ""}`;
  return { file, size, sha256: FIXTURE_SHA, compression: "zstd", compression_level: 3, encryption };
}

/** A pages backup's stored section: its map (`mapSize` bytes) over `packs`. */
export function pagesStored(
  id: string,
  packs: { name: string; size: number }[],
  opts: { mapSize?: number; encryption?: Stored["encryption"] } = {},
): Stored {
  const encryption = opts.encryption ?? null;
  return {
    format: "pages",
    file: `${id}.map.zst${encryption ? ".age" : ""}`,
    size: opts.mapSize ?? 300,
    sha256: FIXTURE_SHA,
    compression: "zstd",
    compression_level: 3,
    encryption,
    packs: packs.map((p) => ({ name: p.name, size: p.size, sha256: FIXTURE_SHA })),
    page_size: 4096,
    pages_per_frame: 256,
  } as Stored;
}

/** A valid manifest of backup `id` (database "app" unless given); `fields` override the defaults. */
export function manifestFixture(id: string, fields: Partial<Manifest> = {}): Manifest {
  return {
    format: 1,
    id,
    database: "app",
    source: "/srv/app.db",
    created_at: "2026-01-01T00:00:00.000Z",
    kind: "manual",
    tags: [],
    snapshot: {
      method: "pages",
      sqlite_version: "3",
      page_size: 4096,
      page_count: 1,
      journal_mode: "wal",
      user_version: 0,
      schema_sha256: FIXTURE_SHA,
      tables: {},
    },
    raw: { size: 4096, sha256: FIXTURE_SHA },
    stored: fileStored(id),
    check: { level: "quick", ok: true, result: "ok" },
    duration_ms: 1,
    host: "h",
    sqlbak_version: "0",
    verifications: [],
    ...fields,
  };
}
