/**
 * What a run reads at an SFTP or rclone destination, counted through the
 * compiled binary against a real sshd on 127.0.0.1 and a real rclone `local`
 * remote: the `sftp` and `rclone` sqlbak runs are wrappers on PATH (or
 * `rclone = ...`) that log what they were asked, so every manifest read
 * (`get` of a `.json` over SFTP, `rclone cat` of one) is seen. A listed time
 * stands for a manifest only once it has settled (src/lib/store/settle.ts,
 * docs/folder-listing.md): files are dated back here as time would pass.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
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
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec, makeProject, type Project } from "../helpers/backups.ts";
import { fabricateBackups } from "../helpers/fabricate.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { type Sshd, startSshd } from "../helpers/sshd.ts";

const HOUR = 3_600_000;
let base: string;
let server: Sshd;
let seq = 0;
/** Where the wrappers append what they were asked. */
let log: string;
let binDir: string;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "sqlbak-reads-"));
  server = await startSshd(mkdtempSync(join(base, "sshd-")));
  binDir = join(base, "bin");
  mkdirSync(binDir);
  log = join(base, "asked.log");
  const sftp = Bun.which("sftp");
  const rclone = Bun.which("rclone");
  if (!sftp || !rclone) throw new Error("sftp and rclone are needed (./install.sh --test-deps)");
  // The batch lines sftp reads, as sqlbak sent them; each rclone call's arguments.
  writeFileSync(join(binDir, "sftp"), `#!/bin/sh\ntee -a "${log}" | "${sftp}" "$@"\n`);
  writeFileSync(join(binDir, "rclone"), `#!/bin/sh\necho "$@" >> "${log}"\nexec "${rclone}" "$@"\n`);
  chmodSync(join(binDir, "sftp"), 0o755);
  chmodSync(join(binDir, "rclone"), 0o755);
  writeFileSync(join(base, "rclone.conf"), "[t]\ntype = local\n");
});
afterAll(async () => {
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

type Kind = "sftp" | "rclone";

interface Setup extends Project {
  /** The database's folder at the destination, on this machine. */
  app: string;
  ids: string[];
}

function project(kind: Kind): Setup {
  const remote = kind === "sftp" ? join(server.root, `r-${++seq}`) : join(base, `rc-${++seq}`);
  const dest =
    kind === "sftp"
      ? [
          'type = "sftp"',
          `host = "${server.host}"`,
          `port = ${server.port}`,
          `user = "${server.user}"`,
          `key_file = "${server.keyFile}"`,
          `known_hosts = "${server.knownHosts}"`,
          `path = "${remote}"`,
        ]
      : [
          'type = "rclone"',
          `remote = "t:${remote}"`,
          `rclone = "${join(binDir, "rclone")}"`,
          `rclone_config = "${join(base, "rclone.conf")}"`,
        ];
  const toml = ["[[destination]]", 'name = "far"', ...dest, ""].join("\n");
  const p = makeProject({ toml: "[retention]\nkeep_last = 1000\n", dbToml: toml });
  return { ...p, app: join(remote, "app"), ids: [] };
}

const env = () => ({ PATH: `${binDir}:${process.env.PATH ?? ""}` });

async function json(p: Project, args: string[]) {
  const r = await runCli([...args, "--json"], { cwd: p.dir, env: env() });
  if (r.code !== 0) throw new Error(`${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return parseJson(r.stdout);
}

/**
 * The `.json` files (manifests, tags markers) one command read at the
 * destination, by name, and (SFTP) in how many batches of the session: each
 * batch ends with the session's `-lcd` sentinel line.
 */
async function reads(p: Project, args: string[]) {
  writeFileSync(log, "");
  const out = await json(p, args);
  const names: string[] = [];
  const batches = new Set<number>();
  let batch = 0;
  for (const line of readFileSync(log, "utf8").split("\n")) {
    if (line.startsWith("-lcd ")) batch++;
    const n = /^-?get (?:-f )?"([^"]+\.json)"/.exec(line)?.[1] ?? /\bcat -- \S+?([^/\s]+\.json)$/.exec(line)?.[1];
    if (!n) continue;
    names.push(n.slice(n.lastIndexOf("/") + 1));
    batches.add(batch);
  }
  return { out, names: names.sort(), batches: batches.size };
}

/** Dates every file at the destination back by `ms` (time passing there). */
function age(p: Setup, ms: number, only?: string) {
  for (const n of readdirSync(p.app)) {
    if (only && n !== only) continue;
    const f = join(p.app, n);
    const t = new Date(statSync(f).mtimeMs - ms);
    utimesSync(f, t, t);
  }
}

async function backups(p: Setup, n: number) {
  for (let i = 0; i < n; i++) {
    exec(p.db, `INSERT INTO items (name, payload) VALUES ('more', randomblob(20000))`);
    const [r] = (await json(p, ["backup", "app"])).results;
    expect(r.copies[0].ok).toBe(true);
    p.ids.push(r.id);
  }
}

/** The same manifest, the same length, other bytes: one space moved from inside to the end. */
function sameSizeOtherBytes(text: string) {
  const changed = `${text.replace('": ', '":').trimEnd()} \n`;
  expect(changed.length).toBe(text.length);
  return changed;
}

for (const kind of ["sftp", "rclone"] as const)
  describe(`manifest reads at an ${kind} destination`, () => {
    it("a caught-up run reads no manifest once their times have settled; a fresh one is read by every run", async () => {
      const p = project(kind);
      await backups(p, 3);
      const all = p.ids.map((id) => `${id}.json`).sort();
      // Written a moment ago: the listed minute (or second) is not over, so each run reads every manifest.
      for (let run = 0; run < 2; run++) expect((await reads(p, ["stats"])).names).toEqual(all);
      age(p, 2 * HOUR);
      const settling = await reads(p, ["stats"]);
      expect(settling.names).toEqual(all);
      // Over SFTP the manifests a run reads go in one batch of the session, not one round each.
      if (kind === "sftp") expect(settling.batches).toBe(1);
      const stats = await reads(p, ["stats"]);
      expect(stats.out.destinations[0]).toMatchObject({ ok: true, count: 3, missing: 0, problems: [] });
      expect(stats.names).toEqual([]);
      const rotate = await reads(p, ["rotate"]);
      expect(rotate.out.results[0].destinations[0]).toMatchObject({ ok: true, removed: [], kept: 3 });
      expect(rotate.names).toEqual([]);
      // A backup run copies the new backup and reads none of the settled manifests.
      exec(p.db, `INSERT INTO items (name, payload) VALUES ('more', randomblob(20000))`);
      const run = await reads(p, ["backup", "app"]);
      expect(run.out.results[0].copies[0]).toMatchObject({ ok: true, already_there: 3 });
      expect(run.names.filter((n) => all.includes(n))).toEqual([]);
    });

    it("a manifest rewritten there (same size, new time) or new there is read, once it settles not again", async () => {
      const p = project(kind);
      await backups(p, 3);
      age(p, 3 * HOUR);
      await reads(p, ["stats"]);
      expect((await reads(p, ["stats"])).names).toEqual([]);
      // Rewritten two hours ago (after this machine read it three hours after it was written).
      const name = `${p.ids[1]}.json`;
      const file = join(p.app, name);
      writeFileSync(file, sameSizeOtherBytes(readFileSync(file, "utf8")));
      age(p, 2 * HOUR, name);
      // A backup another machine put there, long ago: this one has never seen its manifest.
      const elsewhere = join(p.dir, "elsewhere");
      mkdirSync(elsewhere);
      const [planted] = fabricateBackups(join(p.folder, `${p.ids.at(-1)}.json`), elsewhere, "app", [
        { at: "2024-06-01T12:00:00Z", kind: "manual" },
      ]);
      for (const path of [planted!.data_path, planted!.manifest_path]) {
        const to = join(p.app, path.slice(elsewhere.length + 1));
        writeFileSync(to, readFileSync(path));
        utimesSync(to, new Date("2024-06-01T12:00:00Z"), new Date("2024-06-01T12:00:00Z"));
      }
      const first = await reads(p, ["stats"]);
      expect(first.out.destinations[0]).toMatchObject({ ok: true, count: 4, problems: [] });
      expect(first.names).toEqual([name, `${planted!.id}.json`].sort());
      expect((await reads(p, ["stats"])).names).toEqual([]);
    });

    it("a manifest rewritten there within the minute this machine read it is read again", async () => {
      const p = project(kind);
      await backups(p, 1);
      const name = `${p.ids[0]}.json`;
      const file = join(p.app, name);
      // A whole second: what a listing to the minute (SFTP) or to the second (rclone on many remotes)
      // shows of a rewrite within that minute or second is the time the old content had.
      const was = new Date(Math.floor(Date.now() / 1000) * 1000);
      utimesSync(file, was, was);
      expect((await reads(p, ["stats"])).names).toEqual([name]);
      // The same size, at once, with the time it had.
      writeFileSync(file, sameSizeOtherBytes(readFileSync(file, "utf8")));
      utimesSync(file, was, was);
      expect((await reads(p, ["stats"])).names).toEqual([name]);
    });

    it("a manifest corrupt there (same size, settled) is read and reported by every run", async () => {
      const p = project(kind);
      await backups(p, 2);
      const name = `${p.ids[1]}.json`;
      writeFileSync(join(p.app, name), "x".repeat(statSync(join(p.app, name)).size));
      age(p, 2 * HOUR);
      for (let run = 0; run < 3; run++) {
        const stats = await reads(p, ["stats"]);
        expect(stats.out.destinations[0].problems).toEqual([expect.objectContaining({ id: p.ids[1] })]);
        if (run === 0) expect(stats.names).toEqual([`${p.ids[0]}.json`, name].sort());
        else expect(stats.names).toEqual([name]);
      }
      // The packs only it names are held there, neither marked nor freed.
      const packs = (id: string) =>
        (JSON.parse(readFileSync(join(p.folder, `${id}.json`), "utf8")).stored.packs ?? []).map(
          (x: { name: string }) => x.name,
        ) as string[];
      const onlyItsOwn = packs(p.ids[1]!).filter((n) => !packs(p.ids[0]!).includes(n));
      expect(onlyItsOwn.length).toBeGreaterThan(0);
      const rotate = await reads(p, ["rotate"]);
      const at = rotate.out.results[0].destinations[0];
      expect([at.ok, at.freed, at.marked]).toEqual([true, [], []]);
      expect(at.pieces_held).toEqual(expect.arrayContaining(onlyItsOwn));
      expect(rotate.names).toContain(name);
      for (const n of onlyItsOwn) expect(statSync(join(p.app, n)).isFile()).toBe(true);
    });
  });
