/** Removing one backup from a local folder: manifest first, made durable, then its data file and tags marker. */
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { type StoredBackup, tagsMarkName } from "../store/index.ts";
import { fsyncDir, pausePoint } from "../system/index.ts";

/**
 * Removes one backup so that no crash can leave a manifest without its data:
 * the manifest goes first and that unlink is made durable before the data file
 * is touched. Throws on a failure to remove the manifest (the backup then stays whole).
 */
export function removeBackup(b: StoredBackup, folder: string): void {
  unlinkSync(b.manifestPath);
  fsyncDir(folder);
  pausePoint("rotate:manifest-removed");
  // The tags marker last: without its manifest it is ignored, so a crash before this leaves nothing that matters.
  for (const path of [b.dataPath, join(folder, tagsMarkName(b.manifest.id))]) {
    try {
      unlinkSync(path);
    } catch (err) {
      // Already a partial (data without manifest); the stale-partial sweep finishes it.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}
