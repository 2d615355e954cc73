/** The contract between a backup run and the way its bytes are stored (a self-contained file, or pages). */
import type { Sealer } from "../codec/index.ts";
import type { ResolvedConfig, ResolvedDatabase } from "../config/index.ts";
import type { BackupListing } from "../store/index.ts";
import type { BackupOptions, BackupResult } from "./backup-result.ts";

/** What a way of storing a backup gets: the run's inputs, and the result to fill in once its manifest is written. */
export interface BackupContext {
  config: ResolvedConfig;
  db: ResolvedDatabase;
  opts: BackupOptions;
  result: BackupResult;
  started: Date;
  sealer: Sealer | null;
  /**
   * The folder's listing made under this lock before the write (removeStalePartials):
   * its backups stand until this one's manifest is written, so nothing lists the folder again.
   */
  listing: BackupListing;
}

/**
 * How one backup's bytes are stored: today's self-contained data file
 * (FILE_STORE, file-store.ts), or a page map over packs (pages.ts). `write` runs under the
 * folder's lock, writes the manifest last, and removes what it wrote when it fails.
 */
export interface BackupStore {
  /** The manifest's `stored.format`: a self-contained file, or a page map over packs. */
  format: "file" | "pages";
  /** The file a backup's result names (data file or map): also what a dry run reports. */
  fileName(id: string, db: ResolvedDatabase, encrypted: boolean): string;
  write(ctx: BackupContext): Promise<void>;
}
