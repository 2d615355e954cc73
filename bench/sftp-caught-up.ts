/**
 * A caught-up run at an sftp destination: `sqlbak stats` over N backups
 * whose listed times have settled (dated back two hours, as time would pass;
 * docs/folder-listing.md, "Reading a destination again"), this binary
 * against another (`--vs-bin`, an older build), each on its own copy of the
 * same setup, alternating run by run. Reports the medians and the manifest
 * `get`s each run sent (counted by a wrapper of `sftp` on PATH). Not part of
 * `bun run bench`; run it alone:
 *   bun run build && bun bench/sftp-caught-up.ts --vs-bin OTHER_SQLBAK [--backups 40] [--runs 9]
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { makeProject } from "../test/helpers/backups.ts";
import { fabricateBackups } from "../test/helpers/fabricate.ts";
import { startSshd } from "../test/helpers/sshd.ts";

const { values } = parseArgs({
  options: {
    backups: { type: "string", default: "40" },
    runs: { type: "string", default: "9" },
    "vs-bin": { type: "string" },
  },
});
if (!values["vs-bin"]) throw new Error("--vs-bin OTHER_SQLBAK is required (the build to compare with)");
const N = Number(values.backups);
const RUNS = Number(values.runs);
const bins = { this: resolve(process.env.SQLBAK_BIN ?? "dist/sqlbak"), other: resolve(values["vs-bin"]) };
const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-sftp-caught-up-"));
const server = await startSshd(mkdtempSync(join(work, "sshd-")));
const log = join(work, "asked.log");
const binDir = join(work, "bin");
mkdirSync(binDir);
writeFileSync(join(binDir, "sftp"), `#!/bin/sh\ntee -a "${log}" | "${Bun.which("sftp")}" "$@"\n`);
chmodSync(join(binDir, "sftp"), 0o755);

function run(bin: string, dir: string, args: string[]) {
  const r = Bun.spawnSync([bin, ...args], {
    cwd: dir,
    env: { ...process.env, HOME: dir, PATH: `${binDir}:${process.env.PATH}` },
  });
  if (r.exitCode !== 0) throw new Error(`${args.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout.toString();
}

try {
  const dirs: Record<keyof typeof bins, string> = { this: "", other: "" };
  for (const k of ["this", "other"] as const) {
    const remote = join(server.root, k);
    const dest = [
      "[[destination]]",
      'name = "far"',
      'type = "sftp"',
      `host = "${server.host}"`,
      `port = ${server.port}`,
    ]
      .concat([
        `user = "${server.user}"`,
        `key_file = "${server.keyFile}"`,
        `known_hosts = "${server.knownHosts}"`,
        `path = "${remote}"`,
      ])
      .join("\n");
    const p = makeProject({ dbToml: dest, toml: "incremental = false\n[retention]\nkeep_last = 100000\n" });
    // One real backup, N - 1 clones an hour apart, and a second run that copies them all there.
    const b = JSON.parse(run(bins[k], p.dir, ["backup", "app", "--json"])).results[0];
    const hour = 3_600_000;
    const specs = Array.from({ length: N - 1 }, (_, i) => ({
      at: new Date(Date.now() - (N + 1 - i) * hour).toISOString(),
    }));
    fabricateBackups(b.manifest_path, p.folder, "app", specs);
    run(bins[k], p.dir, ["backup", "app"]);
    const app = join(remote, "app");
    for (const n of readdirSync(app)) {
      const t = new Date(statSync(join(app, n)).mtimeMs - 2 * hour);
      utimesSync(join(app, n), t, t);
    }
    run(bins[k], p.dir, ["stats"]); // reads what settled; the timed runs are caught up
    dirs[k] = p.dir;
  }
  const times: Record<keyof typeof bins, number[]> = { this: [], other: [] };
  const gets: Record<keyof typeof bins, number> = { this: 0, other: 0 };
  const load0 = loadavg()[0]!;
  for (let i = 0; i < RUNS; i++)
    for (const k of i % 2 ? (["other", "this"] as const) : (["this", "other"] as const)) {
      writeFileSync(log, "");
      const t0 = performance.now();
      run(bins[k], dirs[k], ["stats"]);
      times[k].push(performance.now() - t0);
      gets[k] = readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => /^-get .*\.json" /.test(l)).length;
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = median(times.this.map((t, i) => t / times.other[i]!));
  console.log(
    `load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end; ${RUNS} runs each, alternating`,
  );
  console.log(
    `| stats, ${N} settled backups at an sftp destination (loopback) | ${median(times.this).toFixed(0)} ms, ${gets.this} manifest gets | ${median(times.other).toFixed(0)} ms, ${gets.other} manifest gets (${values["vs-bin"]}) | ${ratio.toFixed(2)}x |`,
  );
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
