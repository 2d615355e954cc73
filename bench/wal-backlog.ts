/**
 * Frequent backups and the WAL: `sqlbak backup` back to back for N minutes on
 * the 256 MiB bench database under a writer committing ~3,000 small
 * transactions a second. Each backup is a read transaction, so the WAL can
 * restart only between them; a backup whose cost grew with the WAL's backlog
 * would get slower and slower. Reports the median backup time of the first
 * and of the last minute, their ratio (target ≤ 1.5×) and the largest `-wal`
 * file seen (target < 1 GiB).
 *   bun bench/wal-backlog.ts [--minutes 5] [--incremental true|false] [--size 256]
 * (needs dist/sqlbak: bun run build). `--reader` adds an application reader
 * that always has a read transaction open (two connections taking turns), so
 * the WAL never restarts and its backlog grows for the whole run: what each
 * backup costs then shows whether that cost follows the backlog.
 * The helpers themselves:
 *   bun bench/wal-backlog.ts --writer DB_PATH COMMITS_PER_SECOND
 *   bun bench/wal-backlog.ts --reader DB_PATH
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generateDatabase } from "./generate.ts";

export interface WalBacklogOptions {
  /** The compiled sqlbak. */
  bin: string;
  /** A scratch folder (the database and its backups go in it). */
  work: string;
  /** How long to run backups back to back; the first and last minute are compared. */
  minutes?: number;
  incremental?: boolean;
  sizeMiB?: number;
  /** Also run an application reader that never lets the WAL restart (see the file's comment). */
  reader?: boolean;
  commitsPerSecond?: number;
}

export interface WalBacklogResult {
  backups: number;
  firstMinuteMedianMs: number;
  lastMinuteMedianMs: number;
  /** lastMinuteMedianMs / firstMinuteMedianMs. */
  ratio: number;
  maxWalBytes: number;
  /** The largest WAL backlog a backup recorded (manifest snapshot.wal_frames). */
  maxWalFrames: number;
  /** What the writer achieved. */
  commitsPerSecond: number;
  /** The bench table's row: measure, sqlbak, peer, ratio, target. */
  row: [string, string, string, string, string];
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : Number.NaN);
const walSize = (db: string) => {
  try {
    return statSync(`${db}-wal`).size;
  } catch {
    return 0;
  }
};

/** Runs the backups back to back under the writer; see the file's comment. */
export async function benchWalBacklog(opts: WalBacklogOptions): Promise<WalBacklogResult> {
  const { bin, work, minutes = 5, incremental = true, sizeMiB = 256, commitsPerSecond = 3000, reader = false } = opts;
  const db = join(work, `wal-backlog-${sizeMiB}.db`);
  generateDatabase(db, sizeMiB);
  const backups = join(work, "wal-backlog-backups");
  const config = join(work, "wal-backlog.toml");
  writeFileSync(config, `incremental = ${incremental}\n`);
  const writer = Bun.spawn(["bun", import.meta.path, "--writer", db, String(commitsPerSecond)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  await writer.stderr.getReader().read(); // "ready"
  const app = reader
    ? Bun.spawn(["bun", import.meta.path, "--reader", db], { stdout: "ignore", stderr: "pipe" })
    : null;
  if (app) await app.stderr.getReader().read();
  let maxWalBytes = walSize(db);
  const sampler = setInterval(() => (maxWalBytes = Math.max(maxWalBytes, walSize(db))), 100);
  const runs: { at: number; ms: number; walFrames: number }[] = [];
  const t0 = performance.now();
  const end = t0 + minutes * 60_000;
  try {
    while (performance.now() < end) {
      // Each run is what a schedule runs, backup --rotate: the default retention keeps the history bounded.
      // A full backup per run needs no history: drop the last one (disk); incremental ones keep their packs.
      if (!incremental) rmSync(backups, { recursive: true, force: true });
      const at = performance.now();
      const p = Bun.spawn(
        [bin, "backup", db, "--rotate", "--backup-dir", backups, "--config", config, "--json", "--quiet"],
        {
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const [out, err, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      const ms = performance.now() - at;
      if (code !== 0) throw new Error(`sqlbak backup exited ${code}: ${err || out}`);
      const [res] = JSON.parse(out).results as { manifest_path: string }[];
      const manifest = JSON.parse(await Bun.file(res!.manifest_path).text());
      runs.push({ at: at - t0, ms, walFrames: manifest.snapshot.wal_frames ?? 0 });
    }
  } finally {
    clearInterval(sampler);
    writer.kill("SIGTERM");
    app?.kill();
  }
  const w = JSON.parse(await new Response(writer.stdout).text()) as { commits: number; seconds: number };
  const total = minutes * 60_000;
  const first = runs.filter((r) => r.at < 60_000).map((r) => r.ms);
  const last = runs.filter((r) => r.at >= total - 60_000).map((r) => r.ms);
  const firstMs = median(first);
  const lastMs = median(last);
  const ratio = lastMs / firstMs;
  const rate = w.commits / w.seconds;
  const maxWalFrames = Math.max(0, ...runs.map((r) => r.walFrames));
  rmSync(backups, { recursive: true, force: true });
  for (const s of ["", "-wal", "-shm"]) rmSync(db + s, { force: true });
  const MiB = 1024 * 1024;
  return {
    backups: runs.length,
    firstMinuteMedianMs: firstMs,
    lastMinuteMedianMs: lastMs,
    ratio,
    maxWalBytes,
    maxWalFrames,
    commitsPerSecond: rate,
    row: [
      `backups back to back, ${sizeMiB} MiB, ${minutes} min under ~${commitsPerSecond} commits/s ` +
        `(incremental = ${incremental}${reader ? ", a reader always open" : ""})`,
      `${runs.length} backups; median ${(firstMs / 1000).toFixed(2)} s first minute, ` +
        `${(lastMs / 1000).toFixed(2)} s last; WAL max ${Math.round(maxWalBytes / MiB)} MiB`,
      `writer ${Math.round(rate)} commits/s`,
      `${ratio.toFixed(2)}x`,
      "last/first ≤ 1.5x, WAL < 1 GiB",
    ],
  };
}

/** Commits one small insert at a time, paced to `rate` a second, until SIGTERM; prints {"commits","seconds"}. */
async function writer(path: string, rate: number) {
  const db = new Database(path);
  db.run("PRAGMA busy_timeout = 10000");
  db.run("PRAGMA synchronous = NORMAL");
  const insert = db.prepare("INSERT INTO events (user_id, kind, payload, created_at) VALUES (1, 'bench', '{}', ?)");
  let stop = false;
  process.on("SIGTERM", () => (stop = true));
  process.stderr.write("ready\n");
  const t0 = performance.now();
  let commits = 0;
  while (!stop) {
    insert.run(commits++);
    const ahead = commits - ((performance.now() - t0) * rate) / 1000;
    // Ahead of the pace: sleep it off (also lets SIGTERM in); behind: at least yield now and then.
    if (ahead >= 1 || commits % 64 === 0) await Bun.sleep(Math.max(1, (ahead * 1000) / rate));
  }
  console.log(JSON.stringify({ commits, seconds: (performance.now() - t0) / 1000 }));
}

/** Keeps a read transaction open at all times: two connections, each renewed every 400 ms, overlapping. */
async function reader(path: string) {
  const conns = [new Database(path, { readonly: true }), new Database(path, { readonly: true })];
  for (const c of conns) c.run("PRAGMA busy_timeout = 10000");
  process.stderr.write("ready\n");
  for (let i = 0; ; i++) {
    const c = conns[i % 2]!;
    if (c.inTransaction) c.run("ROLLBACK");
    c.run("BEGIN");
    c.query("SELECT count(*) FROM sqlite_schema").values();
    await Bun.sleep(200);
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      writer: { type: "boolean", default: false },
      reader: { type: "boolean", default: false },
      minutes: { type: "string", default: "5" },
      incremental: { type: "string", default: "true" },
      size: { type: "string", default: "256" },
    },
  });
  if (values.writer) await writer(positionals[0]!, Number(positionals[1] ?? 3000));
  else if (values.reader && positionals[0]) await reader(positionals[0]);
  else {
    const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-wal-"));
    try {
      const r = await benchWalBacklog({
        bin: resolve(process.env.SQLBAK_BIN ?? "dist/sqlbak"),
        work,
        minutes: Number(values.minutes),
        incremental: values.incremental !== "false",
        sizeMiB: Number(values.size),
        reader: values.reader,
      });
      console.log(JSON.stringify(r, null, 2));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}
