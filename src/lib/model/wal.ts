/**
 * Checkpoint starvation, judged from what a page-level snapshot recorded
 * (`snapshot.wal_frames`, `snapshot.wal_bytes`). SQLite restarts the WAL only
 * when no reader holds a mark in it, so backups run back to back (each one a
 * read transaction) or a long-lived reader of the application keep it growing:
 * the -wal file takes the disk, and the application's reads and checkpoints
 * slow down. A backup's own cost does not grow with it (it reads the WAL
 * through the wal-index). See docs/snapshot.md (frequent backups and the WAL).
 */
import { formatBytes } from "./format.ts";
import type { Manifest } from "./manifest.ts";

/** Bytes of the WAL header and of each frame's header (sqlite.org/fileformat2.html). */
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;

/**
 * A backlog below this is never starvation: SQLite's default autocheckpoint
 * runs at 1000 pages (about 4 MiB with 4 KiB pages), and a 64 MiB WAL costs
 * the application little, so small databases do not warn.
 */
export const WAL_BACKLOG_FLOOR_BYTES = 64 * 1024 * 1024;
/**
 * A backlog this large is starvation whatever the database's size: a quarter of a
 * million 4 KiB pages the application's checkpoints never got to.
 */
export const WAL_BACKLOG_CEILING_BYTES = 1024 * 1024 * 1024;

/** The advice every starvation warning and health problem carries. */
export const WAL_STARVATION_ADVICE =
  "let the application's checkpoints complete: leave a gap between backups (back to back, " +
  "a backup's read transaction is always open and the WAL cannot restart) and end long read transactions";

/** What a starved backup recorded, and the line it crossed. */
export interface WalStarvation {
  /** WAL bytes of the snapshot's state (header and frames since the WAL's last restart, up to the last commit). */
  backlog_bytes: number;
  /** The `-wal` file's size seen. */
  wal_bytes: number;
  /** min(WAL_BACKLOG_CEILING_BYTES, max(WAL_BACKLOG_FLOOR_BYTES, the database's size)). */
  threshold_bytes: number;
}

/**
 * The starvation `m` records, or null: the WAL backlog of its snapshot's state is at
 * least as large as the database itself, and at least WAL_BACKLOG_FLOOR_BYTES; or it reached
 * WAL_BACKLOG_CEILING_BYTES. The backlog, not the `-wal` file's size, decides:
 * the file never shrinks by itself, so after one VACUUM it stays as large as
 * the database while every frame in it is already checkpointed.
 */
export function walStarvationOf(m: Manifest): WalStarvation | null {
  const frames = m.snapshot.wal_frames ?? 0;
  if (frames === 0) return null;
  const backlog = WAL_HEADER_BYTES + frames * (WAL_FRAME_HEADER_BYTES + m.snapshot.page_size);
  const threshold = Math.min(WAL_BACKLOG_CEILING_BYTES, Math.max(WAL_BACKLOG_FLOOR_BYTES, m.raw.size));
  if (backlog < threshold) return null;
  return { backlog_bytes: backlog, wal_bytes: m.snapshot.wal_bytes ?? backlog, threshold_bytes: threshold };
}

/** One line: what was seen, why it matters, what to do. */
export function describeWalStarvation(database: string, w: WalStarvation, rawSize: number): string {
  return (
    `${database}: the WAL holds ${formatBytes(w.backlog_bytes)} written since its last restart ` +
    `(-wal file ${formatBytes(w.wal_bytes)}, database ${formatBytes(rawSize)}): checkpoint starvation, ` +
    `the -wal file keeps growing and the application's reads slow down; ${WAL_STARVATION_ADVICE}`
  );
}
