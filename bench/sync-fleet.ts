/**
 * The fleet sync row: N databases × B backups already at an S3-compatible
 * server on loopback (s3rver, counting every request), and a run of the copy
 * to destinations (`syncDestinations`, what `backup` does after its backups)
 * and of `stats` at the destination when nothing changed there: requests and
 * time per run, this tree against another source tree (the peer: main before
 * the listing cache) built the same way, in alternating runs. Not part of
 * `bun run bench`; run it alone:
 *   bun bench/sync-fleet.ts [--dbs 1000] [--backups 30] [--runs 3] [--peer /work/main]
 * Each side is its own source tree's library bundled by `bun build` into a
 * temporary folder (no binary of either is rebuilt), run as a child process.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { S3Client } from "bun";
import { fabricateBackups } from "../test/helpers/fabricate.ts";
import { listRequests, objectGets, S3_KEY, startS3 } from "../test/helpers/s3.ts";

const { values } = parseArgs({
  options: {
    dbs: { type: "string", default: "1000" },
    backups: { type: "string", default: "30" },
    runs: { type: "string", default: "3" },
    peer: { type: "string", default: "/work/main" },
  },
});
const N = Number(values.dbs);
const B = Number(values.backups);
const RUNS = Number(values.runs);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-sync-fleet-"));
const trees = { peer: resolve(values.peer), this: resolve(import.meta.dir, "..") };

/** One child: load the config in `work`, run `mode` over every database there, print the time it took. */
function entry(root: string): string {
  return `
import { loadConfig } from "${root}/src/lib/config/load.ts";
import { syncDestinations } from "${root}/src/lib/destinations/sync.ts";
import { gatherDestinationStats } from "${root}/src/lib/health/remote.ts";
import { knownDatabaseNames, listDatabases } from "${root}/src/lib/store/catalog.ts";
const config = loadConfig({}, process.env, process.cwd());
const names = knownDatabaseNames(config);
const t0 = performance.now();
let bad = 0;
if (process.argv[2] === "sync") {
  const r = await syncDestinations(config, names);
  bad = r.filter((c) => !c.ok || c.uploaded.length > 0).length;
} else {
  const r = await gatherDestinationStats(config, await listDatabases(config));
  bad = r.filter((s) => !s.ok || s.missing > 0).length;
}
console.log(JSON.stringify({ ms: performance.now() - t0, bad }));
`;
}

function bundle(label: string, root: string): string {
  const dir = join(work, `build-${label}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "entry.ts"), entry(root));
  const out = join(dir, "run.js");
  const r = Bun.spawnSync(["bun", "build", join(dir, "entry.ts"), "--target", "bun", "--outfile", out]);
  if (r.exitCode !== 0) throw new Error(`bun build of ${root} failed: ${r.stderr.toString()}`);
  return out;
}

async function child(script: string, mode: string): Promise<{ ms: number; bad: number }> {
  const p = Bun.spawn(["bun", script, mode], {
    cwd: work,
    env: { ...process.env, ...S3_KEY },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${script} ${mode} exited ${code}: ${err || out}`);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const s3 = await startS3();
try {
  writeFileSync(
    join(work, "sqlbak.toml"),
    `backup_dir = "backups"\nincremental = false\n[retention]\nkeep_last = 1000\n` +
      `[[destination]]\nname = "offsite"\ntype = "s3"\nendpoint = "${s3.endpoint}"\nbucket = "${s3.bucket}"\n` +
      `prefix = "fleet"\nregion = "us-east-1"\n`,
  );
  // One real backup of a tiny database (no destination), cloned B times into each of N folders (fabricate.ts).
  const template = join(work, "template");
  mkdirSync(template);
  writeFileSync(join(template, "sqlbak.toml"), `backup_dir = "backups"\nincremental = false\n`);
  Bun.spawnSync(["sqlite3", join(template, "t.db"), "CREATE TABLE t(x); INSERT INTO t VALUES (1);"]);
  const made = Bun.spawnSync([resolve(trees.this, "dist/sqlbak"), "backup", "t.db", "--json", "-q"], { cwd: template });
  if (made.exitCode !== 0) throw new Error(`template backup failed: ${made.stderr.toString()}`);
  const templateManifest = join(template, "backups", "t", `${JSON.parse(made.stdout.toString()).results[0].id}.json`);
  const client = new S3Client({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: S3_KEY.AWS_ACCESS_KEY_ID,
    secretAccessKey: S3_KEY.AWS_SECRET_ACCESS_KEY,
    region: "us-east-1",
  });
  const uploads: [string, string][] = [];
  const start = Date.parse("2025-01-01T00:00:00Z");
  for (let i = 0; i < N; i++) {
    const name = `t${String(i).padStart(5, "0")}`;
    const folder = join(work, "backups", name);
    mkdirSync(folder, { recursive: true });
    const specs = Array.from({ length: B }, (_, k) => ({ at: new Date(start + k * 3_600_000 + i).toISOString() }));
    for (const f of fabricateBackups(templateManifest, folder, name, specs))
      for (const path of [f.dataPath, f.manifestPath]) uploads.push([path, `fleet/${name}/${path.split("/").at(-1)}`]);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < uploads.length) {
        const [path, key] = uploads[next++]!;
        await client.write(key, Bun.file(path));
      }
    }),
  );
  const scripts = { peer: bundle("peer", trees.peer), this: bundle("this", trees.this) };
  // One run each first: the listing cache of this tree is filled (from the local manifests' MD5s).
  for (const side of ["peer", "this"] as const) await child(scripts[side], "sync");
  const rows: string[] = [];
  for (const mode of ["sync", "stats"]) {
    const empty = () => ({ ms: [] as number[], req: [] as number[], gets: [] as number[], lists: [] as number[] });
    const per = { peer: empty(), this: empty() };
    for (let r = 0; r < RUNS; r++) {
      for (const side of (r % 2 ? ["this", "peer"] : ["peer", "this"]) as ("peer" | "this")[]) {
        s3.requests.length = 0;
        const out = await child(scripts[side], mode);
        if (out.bad) throw new Error(`${side} ${mode}: ${out.bad} databases not up to date or failed`);
        per[side].ms.push(out.ms);
        per[side].req.push(s3.requests.length);
        per[side].gets.push(objectGets(s3.requests, ".json").length);
        per[side].lists.push(listRequests(s3.requests).length);
      }
    }
    const m = (side: "peer" | "this") => ({
      ms: median(per[side].ms),
      req: median(per[side].req),
      gets: median(per[side].gets),
      lists: median(per[side].lists),
    });
    const a = m("peer");
    const b = m("this");
    rows.push(
      `| ${mode === "sync" ? "copy to destinations" : "stats of destinations"}, ${N} databases × ${B} backups at s3rver, nothing changed | ` +
        `${b.req} requests (${b.lists} listings, ${b.gets} manifest GETs), ${(b.ms / 1000).toFixed(2)} s | ` +
        `${a.req} requests (${a.lists} listings, ${a.gets} manifest GETs), ${(a.ms / 1000).toFixed(2)} s | ` +
        `${(b.ms / a.ms).toFixed(2)}× |`,
    );
  }
  console.log(
    `${cpus().length} cores, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}, runs ${RUNS} (medians)`,
  );
  console.log("| row | this tree | peer tree (before) | time ratio |");
  console.log("| --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
} finally {
  await s3.stop();
  rmSync(work, { recursive: true, force: true });
}
