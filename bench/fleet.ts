/**
 * The fleet rows: N databases of 1 MiB backed up by one `sqlbak backup` (a
 * `folder =` entry, `--parallel` at its default unless given, incremental as
 * by default) against a shell loop of the peer pair (`sqlite3 .backup` +
 * `zstd -3`) over the same files, alternating; the ratio is the median of
 * each run's ratio to the peer run beside it. Each run starts from an empty
 * backup folder (first backups, the costly case). The databases are made once
 * for the largest N; a smaller N backs up the first N of them (hard links).
 * `bun run bench` runs it (`--fleet 100,1000`, `--fleet 0` skips); alone:
 *   bun run build && bun bench/fleet.ts [--dbs 100,1000] [--runs 3] [--parallel N] [--full]
 */
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generateDatabase } from "./generate.ts";

export interface FleetOptions {
  bin: string;
  work: string;
  counts: number[];
  runs: number;
  parallel?: string;
  /** `incremental = false`: self-contained files instead of the default pages backups. */
  full?: boolean;
}

async function timed(cmd: string[], cwd: string): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err || out}`);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const secs = (xs: number[]) =>
  `${(median(xs) / 1000).toFixed(2)} s (${(Math.min(...xs) / 1000).toFixed(2)}–${(Math.max(...xs) / 1000).toFixed(2)})`;

/** The rows (measure, sqlbak, peer, ratio, target), one per count, smallest first. */
export async function fleetRows(o: FleetOptions): Promise<string[][]> {
  const counts = [...o.counts].sort((a, b) => a - b);
  const all = join(o.work, "fleet-all");
  mkdirSync(all, { recursive: true });
  const names = Array.from({ length: counts.at(-1)! }, (_, i) => `t${String(i).padStart(5, "0")}.db`);
  for (const [i, name] of names.entries()) generateDatabase(join(all, name), 1, i + 1);
  const rows: string[][] = [];
  let perDbAtFirst = 0;
  for (const n of counts) {
    const dir = join(o.work, `fleet-${n}`);
    const dbs = join(dir, "dbs");
    mkdirSync(dbs, { recursive: true });
    for (const name of names.slice(0, n)) linkSync(join(all, name), join(dbs, name));
    writeFileSync(
      join(dir, "sqlbak.toml"),
      `backup_dir = "backups"\n${o.full ? "incremental = false\n" : ""}[[database]]\nfolder = "dbs"\n`,
    );
    const loop =
      'mkdir -p peer && for f in dbs/*.db; do b=peer/$(basename "$f"); ' +
      'sqlite3 "$f" ".backup \'$b\'" && zstd -3 -q --rm -f "$b" || exit 1; done';
    const parallel = o.parallel ? ["--parallel", o.parallel] : [];
    const ours: number[] = [];
    const peer: number[] = [];
    for (let r = 0; r < o.runs; r++) {
      rmSync(join(dir, "backups"), { recursive: true, force: true });
      rmSync(join(dir, "peer"), { recursive: true, force: true });
      ours.push(await timed([resolve(o.bin), "backup", "--config", "sqlbak.toml", "-q", ...parallel], dir));
      peer.push(await timed(["bash", "-c", loop], dir));
    }
    // Each run's ratio to the peer run right after it, then their median: holds when the load drifts.
    const ratio = median(ours.map((t, i) => t / peer[i]!));
    const perDb = median(ours) / n;
    if (!perDbAtFirst) perDbAtFirst = perDb;
    const scale = perDb / perDbAtFirst;
    const how = `${o.full ? "incremental = false" : "incremental"}${o.parallel ? `, --parallel ${o.parallel}` : ""}`;
    rows.push([
      `backup ${n.toLocaleString("en")} databases of 1 MiB in one run (${how}); ${perDb.toFixed(1)} ms a database` +
        (n === counts[0] ? "" : `, ${scale.toFixed(2)}× that at ${counts[0]!.toLocaleString("en")}`),
      secs(ours),
      `${secs(peer)} shell loop of sqlite3 .backup + zstd -3`,
      `${ratio.toFixed(2)}x`,
      n === counts[0] ? "≤ 0.5x at 1,000" : "≤ 0.5x; a database ≤ 1.2× the time at 100",
    ]);
    rmSync(dir, { recursive: true, force: true });
  }
  rmSync(all, { recursive: true, force: true });
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      dbs: { type: "string", default: "100,1000" },
      runs: { type: "string", default: "3" },
      parallel: { type: "string" },
      full: { type: "boolean", default: false },
    },
  });
  const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-fleet-"));
  try {
    const rows = await fleetRows({
      bin: process.env.SQLBAK_BIN ?? "dist/sqlbak",
      work,
      counts: values.dbs!.split(",").map(Number),
      runs: Number(values.runs),
      parallel: values.parallel,
      full: values.full,
    });
    console.log("| measure | sqlbak | peer | ratio | target |\n| --- | --- | --- | --- | --- |");
    for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
