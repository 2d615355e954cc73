/** Free space of the volume a folder is on. */
import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { VolumeStats } from "./stats-report.ts";

/**
 * Free and total bytes of the file system that holds (or will hold) `path`:
 * a backup folder not created yet is measured at its nearest existing parent.
 */
export function volumeStats(path: string): VolumeStats | null {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = statfsSync(p);
      return { path, free_bytes: s.bavail * s.bsize, total_bytes: s.blocks * s.bsize };
    } catch {
      if (dirname(p) === p) return null;
    }
  }
}
