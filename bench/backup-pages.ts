/**
 * Pages (incremental) backups against a full one, on one bench database:
 * `sqlbak backup` with incremental = false, then with incremental = true of
 * the unchanged database (a pages backup of it exists), then after a
 * deterministic day of work (day-of-work.ts), alternating, with time and peak RSS.
 *   bun bench/backup-pages.ts [SIZE_MIB=1024] [RUNS=3]
 * Needs the compiled binary (bun run build). Timings on a shared machine are noisy: read medians.
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dayOfWork } from "./day-of-work.ts";
import { generateDatabase } from "./generate.ts";

export interface Timed {
  ms: number;
  maxRssBytes: number;
  /** User + system CPU time, for a shared machine where wall time is noisy. */
  cpuMs: number;
}

export interface PagesBackupBench {
  full: Timed[];
  unchanged: Timed[];
  day: Timed[];
  /** Bytes each kind of backup added to its folder, medians. */
  unchangedStored: number;
  dayStored: number;
  fullStored: number;
}

async function run(cmd: string[], cwd: string): Promise<Timed & { stdout: string }> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err || stdout}`);
  const usage = p.resourceUsage();
  const cpuMs = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1000 : 0;
  return { ms, maxRssBytes: usage?.maxRSS ?? 0, cpuMs, stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Hard-links every file of `from` into a new `to` (packs are never rewritten in place). */
function linkTree(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  Bun.spawnSync(["cp", "-al", from, to]);
}

function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  return n;
}

export async function benchPagesBackup(work: string, sizeMiB: number, runs: number, bin: string) {
  const base = join(work, "base.db");
  const worked = join(work, "worked.db");
  generateDatabase(base, sizeMiB);
  copyFileSync(base, worked);
  dayOfWork(worked, 1);
  // Both images back up as the same database (same path, so the same folder).
  const live = join(work, "live", "bench.db");
  Bun.spawnSync(["mkdir", "-p", join(work, "live")]);
  const use = (file: string) => {
    for (const s of ["", "-wal", "-shm"]) rmSync(live + s, { force: true });
    linkSync(file, live);
  };
  const conf = (incremental: boolean) => {
    const p = join(work, `inc-${incremental}.toml`);
    writeFileSync(p, `incremental = ${incremental}\n`);
    return p;
  };
  const backup = (dir: string, incremental: boolean) =>
    run([bin, "backup", live, "--backup-dir", dir, "--config", conf(incremental), "--json"], work);

  use(base);
  const seeded = join(work, "seeded");
  await backup(seeded, true); // the pages backup the unchanged and day runs find
  const out: PagesBackupBench = { full: [], unchanged: [], day: [], unchangedStored: 0, dayStored: 0, fullStored: 0 };
  const stored = { full: [] as number[], unchanged: [] as number[], day: [] as number[] };
  for (let i = 0; i < runs; i++) {
    use(base);
    const fullDir = join(work, "full");
    rmSync(fullDir, { recursive: true, force: true });
    const f = await backup(fullDir, false);
    out.full.push(f);
    stored.full.push(treeBytes(fullDir));
    const unchangedDir = join(work, "unchanged");
    linkTree(seeded, unchangedDir);
    const before = treeBytes(unchangedDir);
    out.unchanged.push(await backup(unchangedDir, true));
    stored.unchanged.push(treeBytes(unchangedDir) - before);
    use(worked);
    const dayDir = join(work, "day");
    linkTree(seeded, dayDir);
    out.day.push(await backup(dayDir, true));
    stored.day.push(treeBytes(dayDir) - before);
  }
  out.fullStored = median(stored.full);
  out.unchangedStored = median(stored.unchanged);
  out.dayStored = median(stored.day);
  return out;
}

type Row = [what: string, sqlbak: string, peer: string, ratio: string, target: string];

/** The benchmark's rows: time of an unchanged and a day-of-work backup against a full one, and peak RSS. */
export async function pagesBackupRows(work: string, sizeMiB: number, runs: number, bin: string): Promise<Row[]> {
  mkdirSync(work, { recursive: true });
  const r = await benchPagesBackup(work, sizeMiB, runs, bin);
  const ms = (ts: Timed[]) => ts.map((t) => t.ms);
  const fmt = (ts: Timed[]) => {
    const xs = ms(ts);
    return `${(median(xs) / 1000).toFixed(2)} s (${(Math.min(...xs) / 1000).toFixed(2)}–${(Math.max(...xs) / 1000).toFixed(2)})`;
  };
  const full = `${fmt(r.full)} incremental = false`;
  const ratio = (ts: Timed[]) => `${(median(ms(ts)) / median(ms(r.full))).toFixed(2)}x`;
  const rss = Math.max(...[...r.unchanged, ...r.day].map((t) => t.maxRssBytes));
  return [
    [
      `incremental ${sizeMiB} MiB: backup of the unchanged database, time`,
      fmt(r.unchanged),
      full,
      ratio(r.unchanged),
      "≤ 0.35x",
    ],
    [`incremental ${sizeMiB} MiB: backup after a day of work, time`, fmt(r.day), full, ratio(r.day), "≤ 0.5x"],
    [`incremental ${sizeMiB} MiB: backup peak RSS`, `${Math.round(rss / 2 ** 20)} MiB`, "", "", "≤ 256 MiB"],
  ];
}

if (import.meta.main) {
  const [size = "1024", runs = "3"] = process.argv.slice(2);
  const bin = resolve(process.env.SQLBAK_BIN ?? "dist/sqlbak");
  const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-pages-bench-"));
  try {
    const r = await benchPagesBackup(work, Number(size), Number(runs), bin);
    const fmt = (ts: Timed[]) =>
      `${(median(ts.map((t) => t.ms)) / 1000).toFixed(2)} s [${ts.map((t) => (t.ms / 1000).toFixed(2)).join(", ")}], ` +
      `CPU ${(median(ts.map((t) => t.cpuMs)) / 1000).toFixed(2)} s, peak RSS ${Math.round(Math.max(...ts.map((t) => t.maxRssBytes)) / 2 ** 20)} MiB`;
    const fullMs = median(r.full.map((t) => t.ms));
    console.log(`full      ${fmt(r.full)}, stored ${(r.fullStored / 2 ** 20).toFixed(1)} MiB`);
    console.log(
      `unchanged ${fmt(r.unchanged)}, ${(median(r.unchanged.map((t) => t.ms)) / fullMs).toFixed(2)}x full, stored ${(r.unchangedStored / 2 ** 20).toFixed(2)} MiB`,
    );
    console.log(
      `day       ${fmt(r.day)}, ${(median(r.day.map((t) => t.ms)) / fullMs).toFixed(2)}x full, stored ${(r.dayStored / 2 ** 20).toFixed(2)} MiB`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
