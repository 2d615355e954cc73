/**
 * What goes to stdout: the backup table and the stable JSON shapes.
 * The JSON fields here are documented in docs/commands.md; change them only additively.
 */
import {
  addedBytes,
  describePackFailure,
  formatAge,
  formatBytes,
  formatLocalTime,
  latestVerification,
  type ManifestEncryption,
  type PackFailure,
  packFailuresOf,
  renderTable,
  type StoredFormat,
  storedFormat,
} from "../model/index.ts";
import { type FolderListing, KEPT_KIND, type KeptCopy, type StoredBackup } from "../store/index.ts";

export interface BackupJson {
  id: string;
  database: string;
  created_at: string;
  kind: string;
  /**
   * The file the backup was taken of (a pre-restore copy may be of another file than the database's own);
   * null, like raw.sha256 and check.result, while an encrypted backup's meta block is not opened here.
   */
  source: string | null;
  tags: string[];
  file: string;
  manifest: string;
  raw: { size: number; sha256: string | null };
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
  check: { level: string; ok: boolean; result: string | null; reused_from?: string };
  last_verification: { at: string; level: string; ok: boolean } | null;
  /**
   * `failed` when its latest verification FAILED or when a pack it references
   * failed its newest verification (of any backup); `never` when neither and it was never verified.
   */
  verified_state: "ok" | "failed" | "never";
  /** Why it is failed: its latest verification's first problem, or per bad pack which verification failed it. */
  failed_reason: string | null;
  /** The packs it references that are bad (by its own latest record, or by the newest record of each). */
  bad_packs: string[];
}

/**
 * A kept copy as `list --json` prints it, after the backups: a smaller shape than a backup's (it has no
 * manifest, no stored form, no verification). `id` is its file name, `source` the database file it replaced.
 */
export interface KeptCopyJson {
  id: string;
  database: string;
  created_at: string;
  kind: typeof KEPT_KIND;
  source: string;
  file: string;
  size: number;
}

export function keptCopyToJson(k: KeptCopy & { database: string }): KeptCopyJson {
  return {
    id: k.path.slice(k.path.lastIndexOf("/") + 1),
    database: k.database,
    created_at: k.created_at,
    kind: KEPT_KIND,
    source: k.target,
    file: k.path,
    size: k.size,
  };
}

/** Per backup id, across `listings`: the bad packs it references though its own latest verification did not fail. */
export function packFailuresOfListings(listings: FolderListing[]): Map<string, PackFailure[]> {
  return new Map(
    listings.flatMap((l) => [...packFailuresOf([...l.backups, ...(l.missingData ?? [])].map((b) => b.manifest))]),
  );
}

/** `b`'s verification state, given the pack failures (packFailuresOf) of its folder that name it. */
function verifiedState(b: StoredBackup, failures: PackFailure[]) {
  const last = latestVerification(b.manifest);
  if (last && !last.ok)
    return { state: "failed" as const, reason: last.problems[0] ?? "unknown problem", packs: last.bad_packs ?? [] };
  if (failures.length)
    return {
      state: "failed" as const,
      reason: failures.map(describePackFailure).join("; "),
      packs: failures.map((f) => f.pack),
    };
  return { state: last ? ("ok" as const) : ("never" as const), reason: null, packs: [] };
}

/** One backup as `list --json` prints it; `failures` are its bad packs (packFailuresOfListings). */
export function backupToJson(b: StoredBackup, failures: PackFailure[] = []): BackupJson {
  const m = b.manifest;
  const last = latestVerification(m);
  const state = verifiedState(b, failures);
  return {
    id: m.id,
    database: m.database,
    created_at: m.created_at,
    kind: m.kind,
    source: m.source ?? null,
    tags: m.tags,
    file: b.dataPath,
    manifest: b.manifestPath,
    raw: { size: m.raw.size, sha256: m.raw.sha256 ?? null },
    stored: {
      size: m.stored.size,
      sha256: m.stored.sha256,
      compression: m.stored.compression,
      encryption: m.stored.encryption,
      format: storedFormat(m),
    },
    added_bytes: addedBytes(m),
    check: { ...m.check, result: m.check.result ?? null },
    last_verification: last ? { at: last.at, level: last.level, ok: last.ok } : null,
    verified_state: state.state,
    failed_reason: state.reason,
    bad_packs: state.packs,
  };
}

function verifiedCell(b: StoredBackup, now: Date, failures: PackFailure[]): string {
  const last = latestVerification(b.manifest);
  // Failed through a shared pack: aged by the newest verification that failed one of its packs.
  if (failures.length && last?.ok !== false) {
    const at = Math.max(...failures.map((f) => Date.parse(f.at)));
    return `FAILED ${formatAge(new Date(at), now)} (pack)`;
  }
  if (!last) return "never";
  return `${last.ok ? "ok" : "FAILED"} ${formatAge(new Date(last.at), now)}`;
}

/**
 * The `list` table: one row per backup, oldest first; sizes are the image's (raw) and what the backup added.
 * `failures` (packFailuresOfListings) mark backups FAILED through a bad pack.
 */
export function renderBackupTable(
  backups: StoredBackup[],
  now: Date,
  failures: Map<string, PackFailure[]> = new Map(),
  kept: KeptCopy[] = [],
): string {
  const rows = backups.map((b) => {
    const m = b.manifest;
    const created = new Date(m.created_at);
    return [
      m.id,
      formatLocalTime(created),
      formatAge(created, now),
      m.kind === "pre-restore" && m.source !== undefined ? `pre-restore of ${m.source}` : m.kind,
      m.tags.join(",") || "-",
      `${formatBytes(m.raw.size)} / ${formatBytes(addedBytes(m))}`,
      verifiedCell(b, now, failures.get(m.id) ?? []),
    ];
  });
  // Kept copies after the backups: a file beside the database, by its path; its size is the file's, it added nothing.
  for (const k of kept) {
    const created = new Date(k.created_at);
    rows.push([k.path, formatLocalTime(created), formatAge(created, now), KEPT_KIND, "-", formatBytes(k.size), "-"]);
  }
  return renderTable(["ID", "CREATED", "AGE", "KIND", "TAGS", "RAW / ADDED", "VERIFIED"], rows);
}
