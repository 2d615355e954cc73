/**
 * The benchmark: sqlbak against the peer tools, side by side in one run.
 *   bun run bench [--sizes 100,1024] [--runs 3] [--incremental-size 1024] [--days 60] [--wal-minutes 5]
 *                 [--fleet 100,1000] [--fixed-runs 15] [--out bench/results.md]
 * `--fleet 0` skips the fleet rows (bench/fleet.ts), `--sizes 0` the single-database ones.
 * Needs the compiled binary (bun run build), sqlite3, zstd and faketime on PATH.
 * Figures are medians with min–max; ratios compare against the peer pair
 * measured in the same run, because the machines are noisy.
 */
import { linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pagesBackupRows } from "./backup-pages.ts";
import { fixedCostRows } from "./fixed-cost.ts";
import { fleetRows } from "./fleet.ts";
import { generateDatabase } from "./generate.ts";
import { benchIncrementalStorage } from "./incremental-storage.ts";
import { limitRows } from "./limits.ts";
import { restorePagesRows } from "./restore-pages.ts";
import { benchWalBacklog } from "./wal-backlog.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "100,1024" },
    runs: { type: "string", default: "3" },
    // Backups back to back under a busy writer (bench/wal-backlog.ts), minutes; 0 skips the row.
    "wal-minutes": { type: "string", default: "5" },
    out: { type: "string", default: "bench/results.md" },
    "incremental-size": { type: "string", default: "1024" },
    days: { type: "string", default: "60" },
    // Databases of 1 MiB backed up in one run against a shell loop of the peer pair (bench/fleet.ts); 0 skips.
    fleet: { type: "string", default: "100,1000" },
    // Runs of the fixed-cost rows (bench/fixed-cost.ts: a 64 KiB database, where the time goes); 0 skips.
    "fixed-runs": { type: "string", default: "15" },
  },
});
const BIN = resolve(process.env.SQLBAK_BIN ?? "dist/sqlbak");
const RUNS = Number(values.runs);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-bench-"));
const rows: string[][] = [];
/** The rows before the incremental ones measure self-contained files: incremental = false. */
const full = join(work, "full.toml");
writeFileSync(full, "incremental = false\n");
writeFileSync(join(work, "default.toml"), "");

interface Timed {
  ms: number;
  maxRssBytes: number;
}

async function run(cmd: string[], env: Record<string, string> = {}): Promise<Timed> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd: work, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err || out}`);
  return { ms, maxRssBytes: p.resourceUsage()?.maxRSS ?? 0 };
}

async function repeat(n: number, f: () => Promise<Timed>, before?: () => void): Promise<Timed[]> {
  const out: Timed[] = [];
  for (let i = 0; i < n; i++) {
    before?.();
    out.push(await f());
  }
  return out;
}

/** Runs `a` and `b` alternately, `n` times each: load from other processes then weighs on both alike. */
async function sideBySide(n: number, a: () => Promise<Timed>, b: () => Promise<Timed>): Promise<[Timed[], Timed[]]> {
  const as: Timed[] = [];
  const bs: Timed[] = [];
  for (let i = 0; i < n; i++) {
    as.push(await a());
    bs.push(await b());
  }
  return [as, bs];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmtMs = (xs: number[]) =>
  `${(median(xs) / 1000).toFixed(2)} s ` +
  `(${(Math.min(...xs) / 1000).toFixed(2)}–${(Math.max(...xs) / 1000).toFixed(2)})`;
const fmtMiB = (b: number) => `${Math.round(b / 1024 / 1024)} MiB`;

type Row = [what: string, sqlbak: string, peer: string, ratio: string, target: string];

function row(...[what, sqlbak, peer, ratio, target]: Row) {
  rows.push([what, sqlbak, peer, ratio, target]);
  console.log(`${what}: ${sqlbak} | ${peer} | ${ratio}`);
}

async function writerDuring(db: string, f?: () => Promise<unknown>) {
  const w = Bun.spawn(["bun", join(import.meta.dir, "writer-latency.ts"), db], { stdout: "pipe", stderr: "pipe" });
  await w.stderr.getReader().read();
  if (f) await f();
  else await Bun.sleep(3000);
  w.kill("SIGTERM");
  return JSON.parse(await new Response(w.stdout).text()) as {
    p99_ms: number;
    max_ms: number;
    errors: number;
    commits: number;
  };
}

async function benchSize(sizeMiB: number) {
  const db = join(work, `bench-${sizeMiB}.db`);
  const bytes = generateDatabase(db, sizeMiB);
  const label = `${sizeMiB} MiB`;
  const backups = join(work, `backups-${sizeMiB}`);
  const clean = () => rmSync(backups, { recursive: true, force: true });
  const level2 = join(work, "level2.toml");
  writeFileSync(level2, "incremental = false\ncompression_level = 2\n");
  const backup =
    (extra: string[] = []) =>
    () => {
      clean();
      return run([
        BIN,
        "backup",
        db,
        "--backup-dir",
        backups,
        "--quiet",
        ...(extra.length ? extra : ["--config", full]),
      ]);
    };
  const peerBackup = async () => {
    const a = await run(["sqlite3", db, `.backup ${join(work, "peer.db")}`]);
    const b = await run(["zstd", "-3", "-q", "-f", join(work, "peer.db"), "-o", join(work, "peer.db.zst")]);
    rmSync(join(work, "peer.db"), { force: true });
    return { ms: a.ms + b.ms, maxRssBytes: Math.max(a.maxRssBytes, b.maxRssBytes) };
  };
  // The default storage format (pages, incremental), first backup into an empty folder.
  const [oursDefault, peerDefault] = await sideBySide(
    RUNS,
    backup(["--config", join(work, "default.toml")]),
    peerBackup,
  );
  row(
    `backup ${label}, default (incremental), first backup`,
    fmtMs(oursDefault.map((t) => t.ms)),
    `${fmtMs(peerDefault.map((t) => t.ms))} sqlite3 .backup + zstd -3`,
    `${(median(oursDefault.map((t) => t.ms)) / median(peerDefault.map((t) => t.ms))).toFixed(2)}x`,
    sizeMiB <= 10 ? "≤ 0.6x" : "",
  );
  const [ours, peer] = await sideBySide(RUNS, backup(), peerBackup);
  const ratio = median(ours.map((t) => t.ms)) / median(peer.map((t) => t.ms));
  row(
    `backup ${label} (${fmtMiB(bytes)} on disk), incremental = false`,
    fmtMs(ours.map((t) => t.ms)),
    `${fmtMs(peer.map((t) => t.ms))} sqlite3 .backup + zstd -3`,
    `${ratio.toFixed(2)}x`,
    "≤ 0.5x",
  );
  const [ours2, peer2] = await sideBySide(RUNS, backup(["--config", level2]), peerBackup);
  const ratio2 = median(ours2.map((t) => t.ms)) / median(peer2.map((t) => t.ms));
  row(
    `backup ${label}, incremental = false, compression_level = 2`,
    fmtMs(ours2.map((t) => t.ms)),
    `${fmtMs(peer2.map((t) => t.ms))} sqlite3 .backup + zstd -3`,
    `${ratio2.toFixed(2)}x`,
    "≤ 0.5x",
  );
  clean();
  await run([BIN, "backup", db, "--backup-dir", backups, "--config", full, "--quiet"]);
  row(
    `backup ${label} peak RSS`,
    fmtMiB(Math.max(...[...ours, ...ours2].map((t) => t.maxRssBytes))),
    "",
    "",
    "< 256 MiB",
  );

  const base = await writerDuring(db);
  const during = await writerDuring(db, () =>
    run([BIN, "backup", db, "--backup-dir", backups, "--config", full, "--quiet"]),
  );
  row(
    `writer during backup ${label}`,
    `p99 ${during.p99_ms.toFixed(1)} ms, max ${during.max_ms.toFixed(0)} ms, ${during.errors} errors`,
    `baseline p99 ${base.p99_ms.toFixed(1)} ms`,
    `${(during.p99_ms / base.p99_ms).toFixed(2)}x`,
    "p99 ≤ 2x, max < 250 ms",
  );

  const stored = JSON.parse(await Bun.$`${BIN} list --json --backup-dir ${backups} --config ${full}`.cwd(work).text())
    .backups[0].file as string;
  // The careful script: decompress to a temporary file, fsync it, rename it into place.
  const peerRestore = async () => {
    const tmp = join(work, "peer-restored.db.tmp");
    const a = await run(["zstd", "-d", "-q", "-f", stored, "-o", tmp]);
    const b = await run(["sync", tmp]);
    const c = await run(["mv", tmp, join(work, "peer-restored.db")]);
    rmSync(join(work, "peer-restored.db"), { force: true });
    return { ms: a.ms + b.ms + c.ms, maxRssBytes: 0 };
  };
  const target = join(work, "restored.db");
  const removeTarget = () => {
    for (const s of ["", "-wal", "-shm"]) rmSync(target + s, { force: true });
  };
  const restore = () => {
    removeTarget();
    return run([
      BIN,
      "restore",
      `bench-${sizeMiB}`,
      "--latest",
      "--to",
      target,
      "--yes",
      "--force",
      "--backup-dir",
      backups,
      "--quiet",
    ]);
  };
  const [oursRestore, peerR] = await sideBySide(RUNS, restore, peerRestore);
  removeTarget();
  const r = median(oursRestore.map((t) => t.ms)) / median(peerR.map((t) => t.ms));
  row(
    `restore ${label}, incremental = false (decompress + SHA-256 in one pass, fsync, rename)`,
    `${fmtMs(oursRestore.map((t) => t.ms))}, ${fmtMiB(Math.max(...oursRestore.map((t) => t.maxRssBytes)))} RSS`,
    `${fmtMs(peerR.map((t) => t.ms))} zstd -d to a temporary file, sync, mv`,
    `${r.toFixed(2)}x`,
    "≤ 1x",
  );
  // verify --level full against zstd -d + integrity_check, and the backup against zstd -3 -T0 alone (limits.ts).
  for (const r of await limitRows({ bin: BIN, work, db, sizeMiB, runs: RUNS }))
    row(...(r as [string, string, string, string, string]));
  rmSync(db, { force: true });
  clean();
}

/** 10,000 backups of one database: real manifests, data files hard-linked to one real backup. */
async function benchMany() {
  const dir = join(work, "many");
  const db = join(work, "many.db");
  generateDatabase(db, 1);
  await run([BIN, "backup", db, "--backup-dir", dir, "--config", full, "--kind", "scheduled", "--quiet"]);
  const [first] = JSON.parse(await Bun.$`${BIN} list --json --backup-dir ${dir}`.cwd(work).text()).backups;
  const manifest = JSON.parse(readFileSync(first.manifest, "utf8"));
  const start = Date.parse("2000-01-01T00:00:00Z");
  for (let i = 0; i < 10_000; i++) {
    const at = new Date(start + i * 3_600_000);
    const id = `many-${at.toISOString().replace(/[-:.]/g, "")}-${i.toString(16).padStart(8, "0")}`;
    const file = `${id}.sqlite.zst`;
    linkSync(first.file, join(dir, "many", file));
    writeFileSync(
      join(dir, "many", `${id}.json`),
      JSON.stringify({ ...manifest, id, created_at: at.toISOString(), stored: { ...manifest.stored, file } }),
    );
  }
  const list = await repeat(RUNS, () => run([BIN, "list", "--json", "--backup-dir", dir]));
  row("list over 10,000 backups", fmtMs(list.map((t) => t.ms)), "", "", "< 1 s");
  const rot = await repeat(RUNS, () => run([BIN, "rotate", "--dry-run", "--json", "--backup-dir", dir]));
  row("rotate --dry-run over 10,000 backups", fmtMs(rot.map((t) => t.ms)), "", "", "< 1 s");
  const help = await repeat(20, () => run([BIN, "--help"]));
  row("sqlbak --help", `${median(help.map((t) => t.ms)).toFixed(0)} ms`, "", "", "< 50 ms");
}

const loadAtStart = loadavg()[0]!;
try {
  const sizes = values
    .sizes!.split(",")
    .map(Number)
    .filter((n) => n > 0);
  for (const size of sizes) await benchSize(size);
  if (sizes.length) for (const r of await restorePagesRows(Math.max(...sizes), RUNS)) row(...r);
  await benchMany();
  const incSize = Number(values["incremental-size"]);
  if (incSize > 0) {
    const db = join(work, "incremental.db");
    generateDatabase(db, incSize);
    const label = `${incSize} MiB`;
    rows.push(...(await pagesBackupRows(join(work, "pages-backup"), incSize, RUNS, BIN)));
    rows.push(...(await benchIncrementalStorage({ bin: BIN, work, db, days: Number(values.days), label, runs: RUNS })));
  }
  const fixedRuns = Number(values["fixed-runs"]);
  if (fixedRuns > 0) for (const r of await fixedCostRows(BIN, work, fixedRuns)) row(...(r as Row));
  const fleet = values
    .fleet!.split(",")
    .map(Number)
    .filter((n) => n > 0);
  if (fleet.length) for (const r of await fleetRows({ bin: BIN, work, counts: fleet, runs: RUNS })) row(...(r as Row));
  const walMinutes = Number(values["wal-minutes"]);
  if (walMinutes > 0) row(...(await benchWalBacklog({ bin: BIN, work, minutes: walMinutes })).row);
  const cpu = cpus()[0]?.model.trim() ?? "cpu";
  const machine =
    `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Linux ${release()}, ` +
    `Bun ${Bun.version}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const load = `load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`;
  const table = [
    `Machine: ${machine}; ${load}. ${RUNS} runs each, sqlbak and the peer alternating; median (min–max).`,
    "",
    "| measure | sqlbak | peer | ratio | target |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
  writeFileSync(values.out!, `${table}\n`);
  console.log(`\n${table}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
