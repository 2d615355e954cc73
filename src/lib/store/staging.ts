/**
 * Staging folders under backup_dir into which `restore --from` and
 * `verify --from` download a backup. They are removed when the command ends;
 * a killed command (kill -9, power cut) leaves one behind, so the next
 * `--from` command and `rotate` remove leftovers older than a day, and `stats`
 * lists any that remain.
 */
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Staging folders start with this; mkdtemp adds six characters. */
export const STAGING_PREFIX = ".sqlbak-fetch-";
/** Exactly what mkdtemp(STAGING_PREFIX) creates: nothing else is ever swept. */
const STAGING_RE = /^\.sqlbak-fetch-[A-Za-z0-9]{6}$/;
/** Older than any download that can still be running. */
export const STALE_STAGING_AGE_MS = 24 * 60 * 60 * 1000;

export interface StagingLeftover {
  path: string;
  age_ms: number;
}

/** Staging folders under `backupDir` (real folders only, never a symlink), oldest first. */
export function listStaging(backupDir: string, nowMs: number): StagingLeftover[] {
  let names: string[];
  try {
    names = readdirSync(backupDir);
  } catch {
    return [];
  }
  const out: StagingLeftover[] = [];
  for (const name of names) {
    if (!STAGING_RE.test(name)) continue;
    try {
      const st = lstatSync(join(backupDir, name));
      if (st.isDirectory()) out.push({ path: join(backupDir, name), age_ms: Math.max(0, nowMs - st.mtimeMs) });
    } catch {
      // vanished meanwhile
    }
  }
  return out.sort((a, b) => b.age_ms - a.age_ms);
}

/** Removes staging folders older than a day; returns their paths. Failures are left for the next run. */
export function sweepStaleStaging(backupDir: string, nowMs: number): string[] {
  const removed: string[] = [];
  for (const s of listStaging(backupDir, nowMs)) {
    if (s.age_ms < STALE_STAGING_AGE_MS) continue;
    try {
      rmSync(s.path, { recursive: true, force: true });
      removed.push(s.path);
    } catch {
      // permissions or a busy mount: stats keeps listing it
    }
  }
  return removed;
}
