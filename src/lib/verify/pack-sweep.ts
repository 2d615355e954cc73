/**
 * `verify --random` also checks stored packs, so that over its schedule every
 * pack of a pages folder is checked, not only those of the backups it happens
 * to pick. Each run checks the K least recently checked packs (select.ts) at
 * checksum level and records what it found as a pack record (`packs_checked`)
 * on the newest listed backup referencing each, where packStates reads it: a
 * bad pack then fails every backup that references it. Layout: docs/format.md.
 */
import { dirname } from "node:path";
import type { ResolvedConfig } from "../config/index.ts";
import type { Manifest } from "../model/index.ts";
import type { FolderListing, StoredBackup } from "../store/index.ts";
import { checkPack } from "./pieces.ts";
import { recordVerification, type VerifyResult } from "./run.ts";
import { type PackToCheck, packsPerRun, pickPacks, verifyIntervalMs } from "./select.ts";

/** What the pack check of one folder did. */
export interface PackSweep {
  database: string;
  /** Packs the folder's listed backups reference. */
  total: number;
  checked: string[];
  bad: string[];
  /** Records that could not be written (the check itself stands). */
  warnings: string[];
}

/**
 * For each listing (one database folder each), checks its K least recently
 * checked packs not referenced by `chosen` (verified in this run anyway), and
 * records the outcome. Returns what each folder's check did and one failed
 * result per listed backup that references a bad pack.
 */
export async function sweepPacks(
  config: ResolvedConfig,
  listings: FolderListing[],
  chosen: StoredBackup[],
  now = () => new Date(),
): Promise<{ sweeps: PackSweep[]; results: VerifyResult[] }> {
  const sweeps: PackSweep[] = [];
  const results: VerifyResult[] = [];
  const skip = new Set(chosen.flatMap((b) => packNames(b.manifest)));
  const interval = verifyIntervalMs(config.schedule.verify, now());
  for (const l of listings) {
    const listed = l.backups.map((b) => b.manifest);
    const total = new Set(listed.flatMap(packNames)).size;
    if (total === 0) continue;
    const database = listed[0]!.database;
    const maxAge = config.databases.find((d) => d.name === database)?.verifyMaxAgeMs ?? config.verifyMaxAgeMs;
    const all = [...listed, ...(l.missingData ?? []).map((b) => b.manifest)];
    const picked = pickPacks(listed, all, skip, packsPerRun(total, interval, maxAge));
    if (picked.length === 0) continue;
    const started = Date.now();
    const folder = dirname(l.backups[0]!.manifestPath);
    const problems = new Map<string, string>();
    for (const { pack } of picked) {
      const problem = await checkPack(folder, pack);
      if (problem) problems.set(pack.name, problem);
    }
    const sweep: PackSweep = {
      database,
      total,
      checked: picked.map((p) => p.pack.name),
      bad: [...problems.keys()],
      warnings: [],
    };
    sweeps.push(sweep);
    await recordSweep(config, l, picked, problems, now().toISOString(), sweep.warnings);
    for (const b of l.backups) {
      const bad = packNames(b.manifest).filter((n) => problems.has(n));
      if (bad.length === 0) continue;
      results.push({
        id: b.manifest.id,
        database,
        level: "checksum",
        ok: false,
        problems: bad.map((n) => problems.get(n)!),
        durationMs: Date.now() - started,
        badPacks: bad,
      });
    }
  }
  return { sweeps, results };
}

const packNames = (m: Manifest): string[] => (m.stored.format === "pages" ? m.stored.packs.map((p) => p.name) : []);

/** One pack record per newest referencing backup, naming the packs checked there and the bad ones. */
async function recordSweep(
  config: ResolvedConfig,
  l: FolderListing,
  picked: PackToCheck[],
  problems: Map<string, string>,
  at: string,
  warnings: string[],
): Promise<void> {
  const byBackup = new Map<string, string[]>();
  for (const { pack, newest } of picked) byBackup.set(newest, [...(byBackup.get(newest) ?? []), pack.name]);
  for (const [id, checked] of byBackup) {
    const b = l.backups.find((x) => x.manifest.id === id)!;
    const bad = checked.filter((n) => problems.has(n));
    const outcome = await recordVerification(config, b, {
      at,
      level: "checksum",
      ok: bad.length === 0,
      problems: bad.map((n) => problems.get(n)!),
      bad_packs: bad,
      packs_checked: checked,
    });
    // A backup rotated meanwhile loses the record: its packs are picked again by a later run.
    if (outcome !== "recorded" && outcome !== "gone") warnings.push(outcome);
  }
}
