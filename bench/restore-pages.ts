/**
 * Restore of a pages (incremental) backup against the restore of a full
 * backup of the same database, alternating runs; medians with min–max.
 *   bun bench/restore-pages.ts [SIZE_MIB=1024] [RUNS=3]
 * Needs the compiled binary (bun run build). Also times the pages backup
 * taken after a deterministic day of work (day-of-work.ts), whose pages come
 * from old and new packs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dayOfWork } from "./day-of-work.ts";
import { generateDatabase } from "./generate.ts";

const BIN = resolve(process.env.SQLBAK_BIN ?? "dist/sqlbak");

export interface RestoreTiming {
  what: string;
  ms: number[];
  maxRssBytes: number;
}

async function timed(cmd: string[], cwd: string): Promise<{ ms: number; maxRssBytes: number }> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err || out}`);
  return { ms, maxRssBytes: p.resourceUsage()?.maxRSS ?? 0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Times `restore --to` of a full backup, a pages backup and (dayOfWork) the
 * next pages backup of one `sizeMiB` database, `runs` times each, alternating.
 */
export async function benchRestorePages(sizeMiB: number, runs: number, log = console.log): Promise<RestoreTiming[]> {
  const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-restore-pages-"));
  try {
    const db = join(work, "bench.db");
    generateDatabase(db, sizeMiB);
    const cfg = (name: string, incremental: boolean) => {
      const path = join(work, `${name}.toml`);
      writeFileSync(path, `backup_dir = "${join(work, name)}"\nincremental = ${incremental}\n`);
      return path;
    };
    const configs = { full: cfg("full", false), pages: cfg("pages", true), day: cfg("day", true) };
    const backup = (config: string) => timed([BIN, "backup", db, "--config", config, "--quiet"], work);
    await backup(configs.full);
    await backup(configs.pages);
    await backup(configs.day);
    dayOfWork(db, 1);
    await backup(configs.day);
    const target = join(work, "restored.db");
    const restore = (config: string) => {
      for (const s of ["", "-wal", "-shm"]) rmSync(target + s, { force: true });
      return timed(
        [BIN, "restore", "bench", "--latest", "--to", target, "--yes", "--force", "--config", config, "--quiet"],
        work,
      );
    };
    const results: RestoreTiming[] = [
      { what: "full", ms: [], maxRssBytes: 0 },
      { what: "pages", ms: [], maxRssBytes: 0 },
      { what: "after a day of work", ms: [], maxRssBytes: 0 },
    ];
    const order = [configs.full, configs.pages, configs.day];
    for (let i = 0; i < runs; i++)
      for (const [k, config] of order.entries()) {
        const t = await restore(config);
        results[k]!.ms.push(t.ms);
        results[k]!.maxRssBytes = Math.max(results[k]!.maxRssBytes, t.maxRssBytes);
      }
    const full = median(results[0]!.ms);
    for (const r of results)
      log(
        `restore ${sizeMiB} MiB ${r.what}: ${(median(r.ms) / 1000).toFixed(2)} s ` +
          `(${(Math.min(...r.ms) / 1000).toFixed(2)}–${(Math.max(...r.ms) / 1000).toFixed(2)}), ` +
          `${Math.round(r.maxRssBytes / 1024 / 1024)} MiB RSS, ${(median(r.ms) / full).toFixed(2)}x full`,
      );
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const fmt = (ms: number[]) =>
  `${(median(ms) / 1000).toFixed(2)} s (${(Math.min(...ms) / 1000).toFixed(2)}–${(Math.max(...ms) / 1000).toFixed(2)})`;

/** benchRestorePages as rows of bench/run.ts's table: what, sqlbak, peer, ratio, target. */
export async function restorePagesRows(
  sizeMiB: number,
  runs: number,
): Promise<[string, string, string, string, string][]> {
  const [full, ...pages] = await benchRestorePages(sizeMiB, runs, () => {});
  return pages.map((r) => [
    `restore ${sizeMiB} MiB, ${r.what === "pages" ? "pages backup" : `newest pages backup, ${r.what}`}`,
    `${fmt(r.ms)}, ${Math.round(r.maxRssBytes / 1024 / 1024)} MiB RSS`,
    `${fmt(full!.ms)} restore of a full backup`,
    `${(median(r.ms) / median(full!.ms)).toFixed(2)}x`,
    "≤ 1.1x",
  ]);
}

if (import.meta.main) await benchRestorePages(Number(process.argv[2] ?? 1024), Number(process.argv[3] ?? 3));
