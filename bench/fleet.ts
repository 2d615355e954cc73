/**
 * The fleet row: N databases of 1 MiB backed up by one `sqlbak backup` (a
 * `folder =` entry, `--parallel` as given) against a shell loop of the peer
 * pair (`sqlite3 .backup` + `zstd -3`) over the same files. Not part of
 * `bun run bench`; run it alone:
 *   bun run build && bun bench/fleet.ts [--dbs 100] [--runs 3] [--parallel N] [--incremental]
 * Each run starts from an empty backup folder (first backups, the costly case).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generateDatabase } from "./generate.ts";

const { values } = parseArgs({
  options: {
    dbs: { type: "string", default: "100" },
    runs: { type: "string", default: "3" },
    parallel: { type: "string" },
    incremental: { type: "boolean", default: false },
  },
});
const BIN = resolve(process.env.SQLBAK_BIN ?? "dist/sqlbak");
const N = Number(values.dbs);
const RUNS = Number(values.runs);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-fleet-"));

async function timed(cmd: string[]): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd: work, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err || out}`);
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

try {
  const dbs = join(work, "dbs");
  mkdirSync(dbs);
  for (let i = 0; i < N; i++) generateDatabase(join(dbs, `t${String(i).padStart(5, "0")}.db`), 1, i + 1);
  writeFileSync(
    join(work, "sqlbak.toml"),
    `backup_dir = "backups"\nincremental = ${values.incremental}\n[[database]]\nfolder = "dbs"\n`,
  );
  const loop =
    'mkdir -p peer && for f in dbs/*.db; do b=peer/$(basename "$f"); ' +
    'sqlite3 "$f" ".backup \'$b\'" && zstd -3 -q --rm -f "$b" || exit 1; done';
  const sqlbak: number[] = [];
  const peer: number[] = [];
  const parallel = values.parallel ? ["--parallel", values.parallel] : [];
  for (let r = 0; r < RUNS; r++) {
    rmSync(join(work, "backups"), { recursive: true, force: true });
    rmSync(join(work, "peer"), { recursive: true, force: true });
    sqlbak.push(await timed([BIN, "backup", "--config", "sqlbak.toml", "-q", ...parallel]));
    peer.push(await timed(["bash", "-c", loop]));
  }
  const s = median(sqlbak);
  const p = median(peer);
  const what = `${N} databases of 1 MiB, one run${values.parallel ? ` (--parallel ${values.parallel})` : ""}`;
  console.log("| row | sqlbak | peer loop | ratio | per database (sqlbak) |");
  console.log("| --- | --- | --- | --- | --- |");
  console.log(
    `| ${what}${values.incremental ? ", incremental" : ""} | ${(s / 1000).toFixed(2)} s | ${(p / 1000).toFixed(2)} s | ` +
      `${(s / p).toFixed(2)}× | ${(s / N).toFixed(1)} ms |`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
