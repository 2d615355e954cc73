/**
 * The SFTP row: `sqlbak list --from far` over 40 backups at an sftp
 * destination (a real sshd on 127.0.0.1, test/helpers/sshd.ts), against the
 * same work done by OpenSSH's own client in one batch (`sftp -b -`: `ls -n` of
 * the folder, then `get` of each manifest), alternating run by run. Not part
 * of `bun run bench`; run it alone:
 *   bun run build && bun bench/sftp-list.ts [--backups 40] [--runs 5] [--vs-bin OTHER_SQLBAK]
 * `--vs-bin` adds another sqlbak binary (an older build) to the alternation.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fabricateBackups } from "../test/helpers/fabricate.ts";
import { startSshd } from "../test/helpers/sshd.ts";
import { generateDatabase } from "./generate.ts";

const { values } = parseArgs({
  options: {
    backups: { type: "string", default: "40" },
    runs: { type: "string", default: "5" },
    "vs-bin": { type: "string" },
  },
});
const BIN = resolve(process.env.SQLBAK_BIN ?? "dist/sqlbak");
const N = Number(values.backups);
const RUNS = Number(values.runs);
const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "sqlbak-sftp-bench-"));

async function timed(cmd: string[]): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { cwd: work, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err || out}`);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) =>
  `${(median(xs) / 1000).toFixed(2)} s (${(Math.min(...xs) / 1000).toFixed(2)}–${(Math.max(...xs) / 1000).toFixed(2)})`;

const server = await startSshd(mkdtempSync(join(work, "sshd-")));
try {
  const remote = join(server.root, "dest");
  generateDatabase(join(work, "app.db"), 1);
  writeFileSync(
    join(work, "sqlbak.toml"),
    [
      'backup_dir = "backups"',
      "incremental = false",
      "[[database]]",
      'name = "app"',
      'path = "app.db"',
      "[[destination]]",
      'name = "far"',
      'type = "sftp"',
      `host = "${server.host}"`,
      `port = ${server.port}`,
      `user = "${server.user}"`,
      `key_file = "${server.keyFile}"`,
      `known_hosts = "${server.knownHosts}"`,
      `path = "${remote}"`,
      "",
    ].join("\n"),
  );
  // One real backup, N - 2 clones an hour apart, and a second backup that copies them all there.
  await timed([BIN, "backup", "app"]);
  const folder = join(work, "backups", "app");
  const first = readdirSync(folder).find((n) => n.startsWith("app-") && n.endsWith(".json"))!;
  fabricateBackups(
    join(folder, first),
    folder,
    "app",
    Array.from({ length: N - 2 }, (_, i) => ({ at: new Date(Date.now() - (N - i) * 3_600_000).toISOString() })),
  );
  await timed([BIN, "backup", "app"]);
  const manifests = readdirSync(join(remote, "app")).filter((n) => n.startsWith("app-") && n.endsWith(".json"));
  if (manifests.length !== N) throw new Error(`expected ${N} manifests at the destination, found ${manifests.length}`);

  // The peer: what the listing needs, by OpenSSH's client in one batch.
  const got = mkdtempSync(join(work, "peer-"));
  const batch = join(work, "peer.batch");
  writeFileSync(
    batch,
    [`ls -n "${remote}/app"`, ...manifests.map((m) => `get "${remote}/app/${m}" "${got}/${m}"`), ""].join("\n"),
  );
  const peer = [
    "sftp",
    "-b",
    batch,
    "-P",
    String(server.port),
    "-i",
    server.keyFile,
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${server.knownHosts}`,
    "-o",
    "IdentitiesOnly=yes",
    server.host,
  ];
  const list = (bin: string) => [bin, "list", "--from", "far", "--json"];
  const load0 = loadavg()[0]!;
  const ours: number[] = [];
  const theirs: number[] = [];
  const other: number[] = [];
  const loginsBefore = server.logins();
  for (let i = 0; i < RUNS; i++) {
    ours.push(await timed(list(BIN)));
    theirs.push(await timed(peer));
    if (values["vs-bin"]) other.push(await timed(list(resolve(values["vs-bin"]))));
  }
  await Bun.sleep(100);
  const logins = server.logins() - loginsBefore;
  const ratio = median(ours.map((t, i) => t / theirs[i]!));
  console.log(
    `load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end; ${RUNS} runs each, alternating`,
  );
  console.log(
    `| list --from an sftp destination, ${N} backups (loopback) | ${fmt(ours)} | ${fmt(theirs)} sftp -b: ls + get of each manifest | ${ratio.toFixed(2)}x | < 1 s |`,
  );
  if (other.length) console.log(`| the same, ${values["vs-bin"]} | ${fmt(other)} | | | |`);
  console.log(
    `SSH logins during the timed runs: ${logins} (${RUNS * (values["vs-bin"] ? 2 : 1)} sqlbak runs, ${RUNS} peer runs)`,
  );
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
