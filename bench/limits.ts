/**
 * sqlbak against the floor of what it does, alternating runs; medians with min–max:
 * - a backup (incremental = false) against `zstd -3 -T0` alone on the raw image, the compression
 *   limit (sqlbak also reads a consistent snapshot, runs quick_check and hashes both sides);
 * - `verify --level full` of that backup, and of a pages backup (the default format), against
 *   `zstd -d` of the same data file to a file, then `sqlite3 FILE 'pragma integrity_check'`
 *   (sqlbak also hashes both sides and compares facts, row counts and foreign keys).
 *   bun bench/limits.ts [SIZE_MIB=256] [RUNS=3]
 * Needs the compiled binary (bun run build), sqlite3 and zstd on PATH.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateDatabase } from "./generate.ts";

interface Timed {
  ms: number;
  maxRssBytes: number;
}

async function timed(cmd: string[], cwd: string): Promise<Timed> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err || out}`);
  return { ms, maxRssBytes: p.resourceUsage()?.maxRSS ?? 0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ts: Timed[]) => {
  const xs = ts.map((t) => t.ms / 1000);
  return `${median(xs).toFixed(2)} s (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
};
const ratio = (a: Timed[], b: Timed[]) => `${(median(a.map((t) => t.ms)) / median(b.map((t) => t.ms))).toFixed(2)}x`;
const rss = (ts: Timed[]) => `${Math.round(Math.max(...ts.map((t) => t.maxRssBytes)) / 2 ** 20)} MiB RSS`;

/** `a` and `b` alternately, `n` times each, so that load from other processes weighs on both alike. */
async function alternate(n: number, a: () => Promise<Timed>, b: () => Promise<Timed>): Promise<[Timed[], Timed[]]> {
  const as: Timed[] = [];
  const bs: Timed[] = [];
  for (let i = 0; i < n; i++) {
    as.push(await a());
    bs.push(await b());
  }
  return [as, bs];
}

/** The rows for database `db` (`sizeMiB`, checkpointed), measured in `work`. */
export async function limitRows(opts: {
  bin: string;
  work: string;
  db: string;
  sizeMiB: number;
  runs: number;
  log?: (line: string) => void;
}): Promise<string[][]> {
  const { bin, work, db, sizeMiB, runs } = opts;
  const log = opts.log ?? console.log;
  const label = `${sizeMiB} MiB`;
  const rows: string[][] = [];
  const row = (r: string[]) => {
    rows.push(r);
    log(r.join(" | "));
  };
  const full = join(work, "limits-full.toml");
  const pages = join(work, "limits-pages.toml");
  writeFileSync(full, "incremental = false\n");
  writeFileSync(pages, "incremental = true\n");
  const dirFull = join(work, "limits-full");
  const dirPages = join(work, "limits-pages");
  const peerOut = join(work, "limits-peer.zst");
  const peerImage = join(work, "limits-peer.db");

  const backup = async () => {
    rmSync(dirFull, { recursive: true, force: true });
    return timed([bin, "backup", db, "--backup-dir", dirFull, "--config", full, "--quiet"], work);
  };
  const zstdLimit = async () => {
    rmSync(peerOut, { force: true });
    return timed(["zstd", "-3", "-T0", "-q", "-f", db, "-o", peerOut], work);
  };
  const [ours, limit] = await alternate(runs, backup, zstdLimit);
  rmSync(peerOut, { force: true });
  row([
    `backup ${label}, incremental = false, against the compression limit (default quick_check included)`,
    `${fmt(ours)}, ${rss(ours)}`,
    `${fmt(limit)} zstd -3 -T0 of the raw image`,
    ratio(ours, limit),
    "≤ 1.2x",
  ]);

  // The last backup stays for verify; a pages backup of the same database beside it.
  await timed([bin, "backup", db, "--backup-dir", dirPages, "--config", pages, "--quiet"], work);
  const folder = join(dirFull, db.replace(/^.*\//, "").replace(/\.db$/, ""));
  const stored = join(folder, readdirSync(folder).find((n) => n.endsWith(".sqlite.zst"))!);
  const name = folder.replace(/^.*\//, "");
  const verify = (dir: string, config: string) => () =>
    timed([bin, "verify", name, "--level", "full", "--backup-dir", dir, "--config", config, "--quiet"], work);
  const peerVerify = async () => {
    rmSync(peerImage, { force: true });
    const a = await timed(["zstd", "-d", "-q", "-f", stored, "-o", peerImage], work);
    const b = await timed(["sqlite3", peerImage, "pragma integrity_check"], work);
    rmSync(peerImage, { force: true });
    return { ms: a.ms + b.ms, maxRssBytes: Math.max(a.maxRssBytes, b.maxRssBytes) };
  };
  const peerName = "zstd -d to a file, then sqlite3 'pragma integrity_check'";
  const [v, peerV] = await alternate(runs, verify(dirFull, full), peerVerify);
  row([
    `verify --level full ${label}, incremental = false`,
    `${fmt(v)}, ${rss(v)}`,
    `${fmt(peerV)} ${peerName}`,
    ratio(v, peerV),
    "≤ 1.1x",
  ]);
  const [vp, peerVp] = await alternate(runs, verify(dirPages, pages), peerVerify);
  row([
    `verify --level full ${label}, pages backup`,
    `${fmt(vp)}, ${rss(vp)}`,
    `${fmt(peerVp)} ${peerName}`,
    ratio(vp, peerVp),
    "≤ 1.1x",
  ]);
  for (const d of [dirFull, dirPages]) rmSync(d, { recursive: true, force: true });
  return rows;
}

if (import.meta.main) {
  const sizeMiB = Number(process.argv[2] ?? 256);
  const runs = Number(process.argv[3] ?? 3);
  const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-limits-"));
  try {
    const db = join(work, `limits-${sizeMiB}.db`);
    generateDatabase(db, sizeMiB);
    console.log(`load average ${loadavg()[0]!.toFixed(1)} at the start`);
    await limitRows({ bin: resolve(process.env.SQLBAK_BIN ?? "dist/sqlbak"), work, db, sizeMiB, runs });
    console.log(`load average ${loadavg()[0]!.toFixed(1)} at the end`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
