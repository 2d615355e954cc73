/**
 * `[[destination]]` type rclone through the compiled binary, against real
 * rclone remotes on this machine: a `local` remote, and a WebDAV remote
 * served by `rclone serve webdav` on 127.0.0.1 (with a password, kept in
 * rclone.conf only). Both storage formats: copy after backup, list, verify
 * and restore --from with no local state, rotation there that keeps what no
 * local rotation removed, and failed uploads that leave no manifest behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeProject, rows } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { BIN, cleanEnv, runCli } from "../helpers/run-cli.ts";

const PASSWORD = "webdav-secret-5f2c";

interface Server {
  port: number;
  proc: ReturnType<typeof Bun.spawn>;
}

let base: string;
let served: string;
let conf: string;
let servers: Server[] = [];
let seq = 0;

/** `rclone serve webdav` of `served` on 127.0.0.1 (a free port), with user/password. */
async function serveWebdav(extra: string[] = []): Promise<Server> {
  const proc = Bun.spawn(
    ["rclone", "serve", "webdav", "--addr", "127.0.0.1:0", "--user", "u", "--pass", PASSWORD, ...extra, served],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    const m = /started on http:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
    if (m) {
      reader.releaseLock();
      const s = { port: Number(m[1]), proc };
      servers.push(s);
      return s;
    }
  }
  proc.kill();
  throw new Error(`rclone serve webdav did not start: ${text}`);
}

beforeAll(async () => {
  // Outlives single tests, so not a helpers/tmp.ts folder.
  base = mkdtempSync(join(tmpdir(), "sqlbak-rclone-"));
  served = join(base, "served");
  mkdirSync(join(base, "local"));
  mkdirSync(served);
  const rw = await serveWebdav();
  const ro = await serveWebdav(["--read-only"]);
  const gone = await serveWebdav();
  gone.proc.kill();
  await gone.proc.exited;
  const obscured = Bun.spawnSync(["rclone", "obscure", PASSWORD]).stdout.toString().trim();
  const webdav = (name: string, port: number) =>
    `[${name}]\ntype = webdav\nurl = http://127.0.0.1:${port}/\nvendor = other\nuser = u\npass = ${obscured}\n`;
  conf = join(base, "rclone.conf");
  writeFileSync(
    conf,
    `[t]\ntype = local\n\n${webdav("dav", rw.port)}\n${webdav("dav-ro", ro.port)}\n${webdav("dav-down", gone.port)}`,
  );
});
afterAll(async () => {
  for (const s of servers) s.proc.kill();
  await Promise.all(servers.map((s) => s.proc.exited));
  servers = [];
  rmSync(base, { recursive: true, force: true });
});

type Kind = "local" | "webdav";

/** A project whose destination "far" is a fresh folder on the remote; `remote` is that folder on this machine. */
function project(kind: Kind, incremental: boolean, toml = "") {
  const sub = `e2e-${++seq}`;
  const remote = kind === "local" ? join(base, "local", sub) : join(served, sub);
  const spec = kind === "local" ? `t:${remote}` : `dav:${sub}`;
  const dest = `[[destination]]\nname = "far"\ntype = "rclone"\nremote = "${spec}"\nrclone_config = "${conf}"\n`;
  return { ...makeProject({ incremental, toml, dbToml: dest }), remote };
}

/** The local folder's files that go to a destination: all but the lock and the local id key (`.sqlbak-*`). */
const shipped = (folder: string) =>
  readdirSync(folder)
    .filter((n) => !n.startsWith(".sqlbak-"))
    .sort();
const remoteFiles = (folder: string) => readdirSync(folder).sort();
const keepLast1 = "[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n";
const ids = (stdout: string) => parseJson(stdout).backups.map((x: { id: string }) => x.id);

for (const kind of ["local", "webdav"] as const)
  for (const incremental of [true, false])
    describe(`rclone destination, ${kind} remote (incremental = ${incremental})`, () => {
      it("copies each backup, lists, verifies and restores from it with no local state", async () => {
        const p = project(kind, incremental);
        const r = await runCli(["backup", "app", "--json"], { cwd: p.dir });
        expect(r.code).toBe(0);
        const [b] = parseJson(r.stdout).results;
        expect(b.copies).toEqual([expect.objectContaining({ destination: "far", ok: true, uploaded: [b.id] })]);
        expect(r.stderr + r.stdout).not.toContain(PASSWORD);
        // Byte for byte under the same names; no upload temporaries left.
        const app = join(p.remote, "app");
        expect(remoteFiles(app)).toEqual(shipped(p.folder));
        for (const n of shipped(p.folder))
          expect(readFileSync(join(app, n)).equals(readFileSync(join(p.folder, n)))).toBe(true);
        // rclone runs under umask 077: what it creates on a local remote is private.
        if (kind === "local") for (const n of remoteFiles(app)) expect(statSync(join(app, n)).mode & 0o777).toBe(0o600);

        // A second run finds it there and uploads nothing.
        const again = parseJson((await runCli(["backup", "app", "--json"], { cwd: p.dir })).stdout).results[0];
        expect(again.copies[0]).toMatchObject({ ok: true, uploaded: [again.id], already_there: 1 });

        const want = rows(p.db, "SELECT count(*) AS n FROM items");
        rmSync(join(p.dir, "backups"), { recursive: true });
        rmSync(p.db);
        const list = await runCli(["list", "--from", "far", "--json"], { cwd: p.dir });
        expect([list.code, ids(list.stdout)]).toEqual([0, [b.id, again.id]]);
        const verify = await runCli(["verify", "--from", "far", "--all"], { cwd: p.dir });
        expect([verify.code, verify.stderr]).toEqual([0, expect.stringContaining(b.id)]);
        const restored = await runCli(["restore", "app", "--from", "far", "--latest", "--yes"], { cwd: p.dir });
        expect([restored.code, restored.stderr]).toEqual([0, expect.any(String)]);
        expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual(want);
      });

      it("rotation there removes what the local rotation removed, and keeps an only copy", async () => {
        const p = project(kind, incremental, keepLast1);
        const scheduled = ["backup", "app", "--kind", "scheduled", "--json"];
        const first = parseJson((await runCli(scheduled, { cwd: p.dir })).stdout).results[0];
        const second = parseJson((await runCli(scheduled, { cwd: p.dir })).stdout).results[0];
        // `first` vanishes from backup_dir without sqlbak removing it: at the destination it is the only copy.
        unlinkSync(join(p.folder, `${first.id}.json`));
        const third = await runCli([...scheduled, "--rotate"], { cwd: p.dir });
        expect(third.code).toBe(0);
        const [b] = parseJson(third.stdout).results;
        expect(b.rotation.removed).toEqual([second.id]);
        expect(b.rotation.destinations[0]).toMatchObject({
          ok: true,
          removed: [second.id],
          kept_only_copy: [first.id],
        });
        const list = await runCli(["list", "--from", "far", "--json"], { cwd: p.dir });
        expect(ids(list.stdout)).toEqual([first.id, b.id]);
        // What the remaining backups need is all there: both verify from the destination.
        const verify = await runCli(["verify", "--from", "far", "--all"], { cwd: p.dir });
        expect(verify.code).toBe(0);
        expect(remoteFiles(join(p.remote, "app"))).not.toContain(`${second.id}.json`);
      });
    });

for (const incremental of [true, false])
  describe(`rclone destination failures (incremental = ${incremental})`, () => {
    it(`an upload the server refuses, or a stopped server: one clear warning, no manifest there, \
the local backup succeeds, and the next good run catches up`, async () => {
      const p = project("webdav", incremental);
      const toml = join(p.dir, "sqlbak.toml");
      const original = readFileSync(toml, "utf8");
      writeFileSync(toml, original.replace('remote = "dav:', 'remote = "dav-ro:'));
      const r = await runCli(["backup", "app", "--json"], { cwd: p.dir });
      expect(r.code).toBe(0);
      const [b] = parseJson(r.stdout).results;
      expect([b.ok, b.copies[0].ok]).toEqual([true, false]);
      expect(b.copies[0].error).toMatch(
        /^rclone destination "far" \(rclone:dav-ro:e2e-\d+\): upload of app\/\S+ failed: /,
      );
      expect(r.stderr).toMatch(/app → far: copy failed: rclone destination "far"/);
      expect(r.stderr).not.toContain("    at ");
      expect(r.stderr + r.stdout).not.toContain(PASSWORD);
      // Nothing reached the folder (a read-only server), so certainly no manifest.
      expect(readdirSync(served)).not.toContain(p.remote.split("/").at(-1));

      writeFileSync(toml, original.replace('remote = "dav:', 'remote = "dav-down:'));
      const down = await runCli(["backup", "app", "--json"], { cwd: p.dir });
      expect(down.code).toBe(0);
      const [d] = parseJson(down.stdout).results;
      expect(d.copies[0].error).toMatch(/rclone destination "far" .*: cannot list app\/: .*connection refused$/);
      const listDown = await runCli(["list", "--from", "far"], { cwd: p.dir });
      expect(listDown.code).toBe(1);
      expect(listDown.stderr.trim().split("\n")).toEqual([expect.stringMatching(/connection refused/)]);

      writeFileSync(toml, original);
      const next = await runCli(["backup", "app", "--json"], { cwd: p.dir });
      const [n] = parseJson(next.stdout).results;
      expect([next.code, n.copies[0].ok, n.copies[0].uploaded]).toEqual([0, true, [n.id, d.id, b.id]]);
      expect(remoteFiles(join(p.remote, "app"))).toEqual(shipped(p.folder));
    });
  });

/** Pids of the direct children of `pid` (every thread's), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`))
    out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number));
  return out;
}

describe("rclone destination, an upload cut off midway", () => {
  it(`leaves only a hidden temporary file: nothing partial under a final name, no manifest; \
the next run uploads it again`, async () => {
    const p = project("local", false);
    // ~4 MB of random rows; rclone's own RCLONE_BWLIMIT (read from the environment) makes the upload last seconds.
    const db = new (await import("bun:sqlite")).Database(p.db);
    db.run(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) " +
        "INSERT INTO items (name, payload) SELECT 'big-' || i, randomblob(4000) FROM n",
    );
    db.close();
    const proc = Bun.spawn([BIN, "backup", "app", "--json"], {
      cwd: p.dir,
      env: cleanEnv({ RCLONE_BWLIMIT: "1M" }, p.dir),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const app = join(p.remote, "app");
    const deadline = Date.now() + 30_000;
    // Whatever rclone is writing, under whichever name: some bytes of it are there, not all.
    let writing: string | undefined;
    while (!writing && Date.now() < deadline) {
      await Bun.sleep(50);
      try {
        writing = readdirSync(app).find((n) => statSync(join(app, n)).size > 0);
      } catch {
        // the folder is not there yet
      }
    }
    expect(writing).toBeDefined();
    const rclones = childrenOf(proc.pid);
    expect(rclones).toHaveLength(1);
    process.kill(rclones[0]!, "SIGKILL");
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    const [b] = parseJson(stdout).results;
    expect([b.ok, b.copies[0].ok]).toEqual([true, false]);
    // Under final names: nothing, or only complete copies; never the manifest of a backup whose data is cut off.
    const visible = remoteFiles(app).filter((n) => !n.startsWith("."));
    expect(visible).not.toContain(`${b.id}.json`);
    for (const n of visible)
      expect([n, readFileSync(join(app, n)).equals(readFileSync(join(p.folder, n)))]).toEqual([n, true]);
    expect(remoteFiles(app)).toContain(writing!);
    const list = await runCli(["list", "--from", "far", "--json"], { cwd: p.dir });
    expect([list.code, parseJson(list.stdout).backups]).toEqual([0, []]);

    const next = await runCli(["backup", "app", "--json"], { cwd: p.dir });
    const [n] = parseJson(next.stdout).results;
    expect([next.code, n.copies[0].ok, n.copies[0].uploaded]).toEqual([0, true, [n.id, b.id]]);
    expect(remoteFiles(app).filter((f) => !f.startsWith("."))).toEqual(shipped(p.folder));
  });
});

describe("rclone destination config", () => {
  it("a connection string (credentials in arguments) is refused at load, exit 2", async () => {
    const p = makeProject({
      dbToml: `[[destination]]\nname = "far"\ntype = "rclone"\nremote = ":s3,secret_access_key=x:bucket"\n`,
    });
    const r = await runCli(["backup", "app"], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("destination[0].remote");
    expect(r.stderr).toContain("connection strings are refused");
    expect(readdirSync(p.dir)).not.toContain("backups");
  });

  it("a missing rclone binary is one line of advice; the local backup still succeeds", async () => {
    const p = makeProject({
      dbToml: `[[destination]]\nname = "far"\ntype = "rclone"\nremote = "t:/x"\nrclone = "/nonexistent/rclone"\n`,
    });
    const r = await runCli(["backup", "app", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).results[0].copies[0].error).toContain(
      'rclone not found or not executable (rclone = "/nonexistent/rclone") (install it',
    );
  });
});
