/** What a rotation is given and what it reports: rotate's documented `--json` entry, one per database. */
import type { ExitCode } from "../model/index.ts";
import type { LockOwner } from "../system/index.ts";
import type { RetentionDecision } from "./policy.ts";
import type { RemoteRotation } from "./remote.ts";
import type { KeptDecision } from "./rotate-kept.ts";

export interface RotateOptions {
  dryRun: boolean;
  now?: () => Date;
  /** Backup ids this rotation must never remove (the ones `backup --rotate` just took). */
  protect?: string[];
  onLockWait?: (database: string, owner: LockOwner | null) => void;
}

/** A pack or pack index, by name, with its stored bytes. */
export interface PieceSummary {
  name: string;
  size: number;
}

/** The result of rotating one database; its JSON form is rotate's documented `--json` entry. */
export interface RotateResult {
  database: string;
  ok: boolean;
  dry_run: boolean;
  policy: string;
  time_zone: string;
  empty_policy: boolean;
  /** Newest first, every backup with keep or remove and its reasons. */
  backups: (RetentionDecision & { action: "keep" | "remove" })[];
  /** Ids actually removed (on --dry-run: none). */
  removed: string[];
  /**
   * The kept copies beside the configured database (restore's pre-restore safety copies, kind
   * `pre-restore-file`), newest first, with keep or remove: the newest `keep_pre_restore` stay.
   */
  pre_restore_files: KeptDecision[];
  /** Paths of kept copies (and their sidecars) actually removed (on --dry-run: none). */
  removed_pre_restore_files: string[];
  /** Stale partial files deleted (on --dry-run: the ones that would be). */
  removed_partials: string[];
  /** Manifests that were skipped as unreadable: never touched by rotation. */
  skipped: string[];
  /**
   * Pieces of pages backups (packs, pack indexes) freed after the removals: named by no remaining
   * manifest and stale (on --dry-run: the ones that would be).
   */
  freed: PieceSummary[];
  /** Stored bytes of `freed`. */
  freed_bytes: number;
  /** Pieces named by no manifest that parses but kept, because a manifest in `skipped` might name them. */
  pieces_held: PieceSummary[];
  error?: string;
  /** Problems that did not fail the rotation (an unwritable op log). */
  warnings: string[];
  /**
   * The same plan applied at each `[[destination]]` (absent without destinations or when the
   * local rotation failed).
   */
  destinations?: RemoteRotation[];
  exitCode: ExitCode;
}

/** What freeing after removals reports into (rotate's and forget's results). */
export type FreeingReport = Pick<RotateResult, "database" | "warnings" | "freed" | "freed_bytes" | "pieces_held">;
