/**
 * Where the fixed cost of one backup goes, for a 64 KiB database: whole runs
 * of the binary (start-up alone, a first backup into an empty folder, a
 * backup into a folder with one already) alternating with the peer pair, and
 * the parts timed in one warm process (config, lock, one durable file write
 * of the kind a backup makes several of, quick_check, and what the workers
 * would add: the snapshot with its reader on a worker against in-thread).
 *   bun run build && bun bench/fixed-cost.ts [--runs 15]
 * `bun run bench` takes its rows (fixedCostRows).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { IdHasher } from "../src/lib/backup/id-hasher.ts";
import { loadConfig } from "../src/lib/config/load.ts";
import { checkDatabase, openReadOnly } from "../src/lib/snapshot/index.ts";
import { takePageSnapshot } from "../src/lib/snapshot/pages.ts";
import { acquireLock, writeFileAtomic } from "../src/lib/system/index.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (xs: number[]) => `${median(xs).toFixed(1)} ms`;

function wall(cmd: string[], cwd: string): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
  return performance.now() - t0;
}

async function timeIt(runs: number, f: () => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    out.push(performance.now() - t0);
  }
  return out;
}

/** The rows (measure, sqlbak, peer, ratio, target). */
export async function fixedCostRows(bin: string, work: string, runs: number): Promise<string[][]> {
  const db = join(work, "small.db");
  Bun.spawnSync([
    "sqlite3",
    db,
    "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t SELECT randomblob(500) FROM generate_series(1,100);",
  ]);
  const exe = resolve(bin);
  const start: number[] = [];
  const first: number[] = [];
  const again: number[] = [];
  const peer: number[] = [];
  const backups = join(work, "fixed-backups");
  for (let i = 0; i < runs; i++) {
    start.push(wall([exe, "--version"], work));
    rmSync(backups, { recursive: true, force: true });
    first.push(wall([exe, "backup", db, "--backup-dir", backups, "-q"], work));
    again.push(wall([exe, "backup", db, "--backup-dir", backups, "-q"], work));
    peer.push(
      wall(["sqlite3", db, `.backup ${join(work, "peer.db")}`], work) +
        wall(["zstd", "-3", "-q", "-f", "--rm", join(work, "peer.db"), "-o", join(work, "peer.db.zst")], work),
    );
  }
  const config = await timeIt(runs, () => loadConfig({ backupDir: backups }, process.env, work));
  const lock = await timeIt(runs, async () =>
    (await acquireLock(join(backups, "small"), { database: "small", command: "bench" }, 1000)).release(),
  );
  const durable = await timeIt(runs, () => writeFileAtomic(join(work, "durable.json"), "x".repeat(1024)));
  const check = await timeIt(runs, () => {
    const h = openReadOnly(db);
    checkDatabase(h, "quick");
    h.close();
  });
  const snap = (reader: "inline" | "worker") => () =>
    takePageSnapshot(db, join(work, `snap-${reader}-${Math.random()}.zst`), {
      codec: "zstd",
      level: 3,
      check: "quick",
      reader,
    });
  const inline = await timeIt(runs, snap("inline"));
  const worker = await timeIt(runs, snap("worker"));
  const idWorker = await timeIt(runs, async () => {
    const h = new IdHasher(new Uint8Array(32), 4096);
    await h.update(new Uint8Array(new SharedArrayBuffer(4096)));
    h.close();
  });
  const r = (what: string, value: string, peerText = "", ratio = "", target = "") => [
    what,
    value,
    peerText,
    ratio,
    target,
  ];
  return [
    r(
      "backup of a 64 KiB database, into a folder with one backup",
      ms(again),
      `${ms(peer)} sqlite3 .backup + zstd -3`,
      `${(median(again) / median(peer)).toFixed(2)}x`,
      "≤ 50 ms",
    ),
    r("… the first one, into an empty folder (makes the id key: 4 more fsyncs)", ms(first), "", "", "≤ 50 ms"),
    r("… of which process start-up (`sqlbak --version`)", ms(start)),
    r("… config load (warm)", ms(config)),
    r("… folder lock, take and release (warm)", ms(lock)),
    r(
      "… one durable file (write, fsync, rename, fsync folder): a backup writes map and manifest, and a pack and its index when pages changed",
      ms(durable),
    ),
    r("… quick_check (open, check, close)", ms(check)),
    r("… the snapshot with its reader in-thread (as below 16 MiB) / on a worker", `${ms(inline)} / ${ms(worker)}`),
    r("… the id worker's start-up and one page (not started below 16 MiB)", ms(idWorker)),
  ];
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
  const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-fixed-"));
  try {
    const rows = await fixedCostRows(process.env.SQLBAK_BIN ?? "dist/sqlbak", work, Number(values.runs));
    console.log("| measure | sqlbak | peer | ratio | target |\n| --- | --- | --- | --- | --- |");
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
