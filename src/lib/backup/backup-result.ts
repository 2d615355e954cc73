/** What one backup of one database is given (BackupOptions) and what it reports (BackupResult). */
import type { BackupKind, ExitCode, ProgressFn } from "../model/index.ts";
import type { LockOwner } from "../system/index.ts";

export interface BackupOptions {
  kind: BackupKind;
  tags: string[];
  dryRun: boolean;
  now?: () => Date;
  /** Raw bytes read of each database's snapshot, labelled with the database's name. */
  onProgress?: ProgressFn;
  onLockWait?: (database: string, owner: LockOwner | null) => void;
  /** The caller already holds this database's folder lock (restore's pre-restore backup). */
  lockHeld?: boolean;
  /** `--accept-shrink`: a shrink is intended; recorded as `shrink_accepted`, which ends the guard. */
  acceptShrink?: boolean;
}

export interface BackupResult {
  database: string;
  source: string;
  ok: boolean;
  dryRun: boolean;
  exitCode: ExitCode;
  /** How the backup is (or, on a dry run, would be) stored: one self-contained file, or pages (incremental). */
  format: "file" | "pages";
  id?: string;
  dataPath?: string;
  manifestPath?: string;
  rawSize?: number;
  storedSize?: number;
  durationMs: number;
  error?: string;
  removedPartials: string[];
  /** Things done on the way that the user should hear about (not problems), e.g. an id key fetched from a destination. */
  notes: string[];
  warnings: string[];
  /** Set when the database shrank against its previous backup (the manifest's `shrunk`). */
  shrunk?: { previous_id: string; previous_size: number };
  shrinkAccepted?: boolean;
}
