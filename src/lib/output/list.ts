/**
 * What goes to stdout: the backup table and the stable JSON shapes.
 * The JSON fields here are documented in docs/commands.md; change them only additively.
 */
import {
  addedBytes,
  formatAge,
  formatBytes,
  formatLocalTime,
  type ManifestEncryption,
  renderTable,
  type StoredFormat,
  storedFormat,
} from "../model/index.ts";
import type { StoredBackup } from "../store/index.ts";

export interface BackupJson {
  id: string;
  database: string;
  created_at: string;
  kind: string;
  /** The file the backup was taken of (a pre-restore copy may be of another file than the database's own). */
  source: string;
  tags: string[];
  file: string;
  manifest: string;
  raw: { size: number; sha256: string };
  /** `size` is the data file's, or a pages backup's map alone (its packs are shared). */
  stored: {
    size: number;
    sha256: string;
    compression: string;
    encryption: ManifestEncryption | null;
    format: StoredFormat;
  };
  /** What this backup added when it was written: its data file, or its map plus the packs it wrote. */
  added_bytes: number;
  check: { level: string; ok: boolean; result: string };
  last_verification: { at: string; level: string; ok: boolean } | null;
}

export function backupToJson(b: StoredBackup): BackupJson {
  const m = b.manifest;
  const last = m.verifications.at(-1);
  return {
    id: m.id,
    database: m.database,
    created_at: m.created_at,
    kind: m.kind,
    source: m.source,
    tags: m.tags,
    file: b.dataPath,
    manifest: b.manifestPath,
    raw: m.raw,
    stored: {
      size: m.stored.size,
      sha256: m.stored.sha256,
      compression: m.stored.compression,
      encryption: m.stored.encryption,
      format: storedFormat(m),
    },
    added_bytes: addedBytes(m),
    check: m.check,
    last_verification: last ? { at: last.at, level: last.level, ok: last.ok } : null,
  };
}

function verifiedCell(b: StoredBackup, now: Date): string {
  const last = b.manifest.verifications.at(-1);
  if (!last) return "never";
  return `${last.ok ? "ok" : "FAILED"} ${formatAge(new Date(last.at), now)}`;
}

/** The `list` table: one row per backup, oldest first; sizes are the image's (raw) and what the backup added. */
export function renderBackupTable(backups: StoredBackup[], now: Date): string {
  const rows = backups.map((b) => {
    const m = b.manifest;
    const created = new Date(m.created_at);
    return [
      m.id,
      formatLocalTime(created),
      formatAge(created, now),
      m.kind === "pre-restore" ? `pre-restore of ${m.source}` : m.kind,
      m.tags.join(",") || "-",
      `${formatBytes(m.raw.size)} / ${formatBytes(addedBytes(m))}`,
      verifiedCell(b, now),
    ];
  });
  return renderTable(["ID", "CREATED", "AGE", "KIND", "TAGS", "RAW / ADDED", "VERIFIED"], rows);
}
