/**
 * What incremental storage costs over simulated days, against the ideal and
 * against `incremental = false` under the same retention:
 *   - day 0: a backup, then one of the unchanged database;
 *   - days 1..N: a deterministic day of work (day-of-work.ts), then
 *     `backup --rotate` with both configs at that day's date (faketime);
 *     the incremental one also copies to a `dir` destination.
 * The ideals are computed here from the images themselves, page by page:
 *   - day of work: the zstd -3 size of exactly the pages that changed
 *     (by page number, against the day before), compressed as one stream;
 *   - N days: the zstd -3 size of the distinct page versions that the
 *     retained backups reference, each day's new versions as one stream.
 * Needs faketime (Debian package faketime) on PATH.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { dayOfWork } from "./day-of-work.ts";

export type Row = [what: string, sqlbak: string, peer: string, ratio: string, target: string];

const DAY_MS = 86_400_000;
const T0 = Date.parse("2026-01-01T03:00:00Z");

interface Options {
  bin: string;
  work: string;
  db: string;
  days: number;
  label: string;
  /** Restores of each kind at the end, alternating. */
  runs: number;
}

/** Bytes of every file under `dir` (0 when it does not exist). */
function bytesUnder(dir: string): number {
  let total = 0;
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? bytesUnder(p) : e.isFile() ? statSync(p).size : 0;
  }
  return total;
}

async function sqlbakAt(bin: string, cwd: string, at: number, args: string[]): Promise<number> {
  const stamp = new Date(at).toISOString().slice(0, 19).replace("T", " ");
  const t0 = performance.now();
  const p = Bun.spawn(["faketime", "-f", `@${stamp}`, bin, ...args], {
    cwd,
    env: { ...process.env, TZ: "UTC" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`sqlbak ${args.join(" ")} exited ${code}: ${err}`);
  return performance.now() - t0;
}

/** The page versions of each day's image, and where each version's bytes were first seen. */
class PageVersions {
  private ids = new Map<bigint, number>();
  /** Per version: the day it first appeared, and its index among that day's new pages. */
  private firstDay: number[] = [];
  private indexInDay: number[] = [];
  readonly perDay: Uint32Array[] = [];
  pageSize = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Reads the image at `db` as day `day`; returns the raw bytes of pages whose content differs from the day before. */
  addDay(db: string, day: number): Buffer[] {
    const fd = openSync(db, "r");
    const header = Buffer.alloc(100);
    readSync(fd, header, 0, 100, 0);
    const raw = header.readUInt16BE(16);
    this.pageSize = raw === 1 ? 65_536 : raw;
    const pages = Math.floor(statSync(db).size / this.pageSize);
    const versions = new Uint32Array(pages);
    const prev = this.perDay[day - 1];
    const changed: Buffer[] = [];
    const out = openSync(join(this.dir, `day-${day}.bin`), "w");
    let newInDay = 0;
    const chunk = Buffer.alloc(this.pageSize * 1024);
    for (let first = 0; first < pages; first += 1024) {
      const n = Math.min(1024, pages - first);
      readSync(fd, chunk, 0, n * this.pageSize, first * this.pageSize);
      for (let i = 0; i < n; i++) {
        const page = chunk.subarray(i * this.pageSize, (i + 1) * this.pageSize);
        const h = BigInt(Bun.hash(page)) ^ (BigInt(Bun.hash.crc32(page)) << 64n);
        let v = this.ids.get(h);
        if (v === undefined) {
          v = this.firstDay.length;
          this.ids.set(h, v);
          this.firstDay.push(day);
          this.indexInDay.push(newInDay++);
          writeSync(out, page);
        }
        versions[first + i] = v;
        if (prev && (first + i >= prev.length || prev[first + i] !== v)) changed.push(Buffer.from(page));
      }
    }
    closeSync(out);
    closeSync(fd);
    this.perDay[day] = versions;
    return changed;
  }

  /** zstd -3 size of the distinct versions that `days` reference, each first-seen day's as one stream. */
  idealOf(days: number[]): number {
    const referenced = new Uint8Array(this.firstDay.length);
    for (const d of days) for (const v of this.perDay[d]!) referenced[v] = 1;
    const byDay = new Map<number, number[]>();
    referenced.forEach((r, v) => {
      if (!r) return;
      const day = this.firstDay[v]!;
      const list = byDay.get(day) ?? [];
      list.push(this.indexInDay[v]!);
      byDay.set(day, list);
    });
    let total = 0;
    for (const [day, indexes] of byDay) {
      const fd = openSync(join(this.dir, `day-${day}.bin`), "r");
      const buf = Buffer.alloc(indexes.length * this.pageSize);
      indexes.forEach((k, j) => {
        readSync(fd, buf, j * this.pageSize, this.pageSize, k * this.pageSize);
      });
      closeSync(fd);
      total += Bun.zstdCompressSync(buf, { level: 3 }).length;
    }
    return total;
  }
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs the simulation; returns the rows for the benchmark table. */
export async function benchIncrementalStorage(o: Options): Promise<Row[]> {
  const root = join(o.work, "incremental");
  const pagesDir = join(root, "pages");
  const fullDir = join(root, "full");
  const destDir = join(root, "dest");
  mkdirSync(destDir, { recursive: true });
  const base = `[[database]]\npath = "${o.db}"\nname = "bench"\n`;
  writeFileSync(
    join(root, "pages.toml"),
    `backup_dir = "${pagesDir}"\nincremental = true\n\n${base}\n[[destination]]\nname = "nas"\ntype = "dir"\npath = "${destDir}"\n`,
  );
  writeFileSync(join(root, "full.toml"), `backup_dir = "${fullDir}"\nincremental = false\n\n${base}`);
  const backup = (config: string, at: number) =>
    sqlbakAt(o.bin, root, at, ["backup", "--rotate", "--quiet", "--config", join(root, config)]);
  const versions = new PageVersions(join(root, "versions"));
  const rows: Row[] = [];

  versions.addDay(o.db, 0);
  const fullMs0 = await backup("full.toml", T0);
  const pagesMs0 = await backup("pages.toml", T0);
  const full0 = bytesUnder(fullDir);
  const pages0 = bytesUnder(pagesDir);
  await backup("full.toml", T0 + 3_600_000);
  await backup("pages.toml", T0 + 3_600_000);
  const unchanged = bytesUnder(pagesDir) - pages0;
  rows.push([
    `incremental ${o.label}: first backup`,
    `${mib(pages0)}, ${(pagesMs0 / 1000).toFixed(2)} s`,
    `${mib(full0)}, ${(fullMs0 / 1000).toFixed(2)} s incremental = false`,
    `${(pages0 / full0).toFixed(2)}x`,
    "",
  ]);
  rows.push([
    `incremental ${o.label}: backup of the unchanged database, stored`,
    mib(unchanged),
    `${mib(full0)} a full backup`,
    `${((100 * unchanged) / full0).toFixed(2)}%`,
    "≤ 1%",
  ]);
  for (let day = 1; day <= o.days; day++) {
    dayOfWork(o.db, day);
    const changed = versions.addDay(o.db, day);
    const at = T0 + day * DAY_MS;
    const storedBefore = bytesUnder(pagesDir);
    const destBefore = bytesUnder(destDir);
    await backup("full.toml", at);
    await backup("pages.toml", at);
    if (day === 1) {
      const ideal = Bun.zstdCompressSync(Buffer.concat(changed), { level: 3 }).length;
      const added = bytesUnder(pagesDir) - storedBefore;
      const uploaded = bytesUnder(destDir) - destBefore;
      const share = ((100 * changed.length * versions.pageSize) / statSync(o.db).size).toFixed(1);
      rows.push([
        `incremental ${o.label}: backup after a day of work (${changed.length} pages changed, ${share}%), stored`,
        mib(added),
        `${mib(ideal)} zstd -3 of the changed pages`,
        `${(added / ideal).toFixed(2)}x`,
        "≤ 1.3x",
      ]);
      rows.push([
        `incremental ${o.label}: off-site sync after a day of work, uploaded`,
        mib(uploaded),
        `${mib(ideal)} zstd -3 of the changed pages`,
        `${(uploaded / ideal).toFixed(2)}x`,
        "≤ 1.3x",
      ]);
    }
    console.log(`day ${day}: incremental ${mib(bytesUnder(pagesDir))}, full ${mib(bytesUnder(fullDir))}`);
  }
  const listed = JSON.parse(await Bun.$`${o.bin} list --json --config ${join(root, "pages.toml")}`.cwd(root).text())
    .backups as { created_at: string }[];
  const retainedDays = [...new Set(listed.map((b) => Math.floor((Date.parse(b.created_at) - T0) / DAY_MS)))];
  const ideal = versions.idealOf(retainedDays);
  const fullTotal = bytesUnder(fullDir);
  const pagesTotal = bytesUnder(pagesDir);
  rows.push([
    `incremental ${o.label}: ${o.days} days, default retention (${listed.length} kept), stored against the ideal`,
    mib(pagesTotal),
    `${mib(ideal)} zstd -3 of the distinct page versions kept`,
    `${(pagesTotal / ideal).toFixed(2)}x`,
    "≤ 1.3x",
  ]);
  rows.push([
    `incremental ${o.label}: ${o.days} days, stored against incremental = false (the ideal: ${((100 * ideal) / fullTotal).toFixed(1)}%)`,
    mib(pagesTotal),
    `${mib(fullTotal)} incremental = false`,
    `${((100 * pagesTotal) / fullTotal).toFixed(1)}%`,
    "≤ 15%",
  ]);
  // The newest backup after the days references pages of many packs: its restore against a full one's.
  const target = join(root, "restored.db");
  const restore = (config: string) => {
    for (const x of ["", "-wal", "-shm"]) rmSync(target + x, { force: true });
    const args = ["restore", "bench", "--latest", "--to", target, "--yes", "--force", "--quiet"];
    return sqlbakAt(o.bin, root, T0 + (o.days + 1) * DAY_MS, [...args, "--config", join(root, config)]);
  };
  const pagesRestore: number[] = [];
  const fullRestore: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    fullRestore.push(await restore("full.toml"));
    pagesRestore.push(await restore("pages.toml"));
  }
  rows.push([
    `incremental ${o.label}: restore of the newest backup after ${o.days} days`,
    `${(median(pagesRestore) / 1000).toFixed(2)} s`,
    `${(median(fullRestore) / 1000).toFixed(2)} s restore of the newest incremental = false backup`,
    `${(median(pagesRestore) / median(fullRestore)).toFixed(2)}x`,
    "≤ 1.1x",
  ]);
  return rows;
}
