/**
 * One SSH connection per sqlbak run at an sftp destination (docs/destinations.md,
 * _Connections_), counted in the log of a real sshd on 127.0.0.1: a backup that
 * lists 40 remote backups and copies the new one, a listing and a verify from the
 * destination, a backup that copies and then rotates there. And no ssh or sftp process outlives the run: after
 * success, after a failure, at the run's timeout and at SIGTERM (the last two
 * against a server that never answers, so the run is surely inside the session).
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAppDatabase, makeProject } from "../helpers/backups.ts";
import { fabricateBackups } from "../helpers/fabricate.ts";
import { parseJson } from "../helpers/json.ts";
import { BIN, cleanEnv, runCli } from "../helpers/run-cli.ts";
import { type Sshd, sshClientsOf, startSshd } from "../helpers/sshd.ts";

let server: Sshd;
/** Its sftp subsystem sleeps: the connection is made, and then nothing answers. */
let silent: Sshd;
let serverDir: string;
let seq = 0;

beforeAll(async () => {
  serverDir = mkdtempSync(join(tmpdir(), "sqlbak-sshd-"));
  server = await startSshd(mkdtempSync(join(serverDir, "a-")));
  silent = await startSshd(mkdtempSync(join(serverDir, "b-")), { subsystem: "/bin/sleep 600" });
});
afterAll(async () => {
  await server?.stop();
  await silent?.stop();
  rmSync(serverDir, { recursive: true, force: true });
});

function project(s: Sshd, toml = "") {
  const remote = join(s.root, `one-${++seq}`);
  const dest = [
    "[[destination]]",
    'name = "far"',
    'type = "sftp"',
    `host = "${s.host}"`,
    `port = ${s.port}`,
    `user = "${s.user}"`,
    `key_file = "${s.keyFile}"`,
    `known_hosts = "${s.knownHosts}"`,
    `path = "${remote}"`,
  ].join("\n");
  return { ...makeProject({ dbToml: dest, toml }), remote };
}

/** Logins the server accepted while `fn` ran (sshd logs each as it happens; read once the log is still). */
async function loginsDuring(s: Sshd, fn: () => Promise<void>): Promise<number> {
  const before = s.logins();
  await fn();
  await Bun.sleep(100);
  return s.logins() - before;
}

/** 40 backups here and at the destination: two real, 38 clones an hour apart; the second backup copies 39 in one session. */
async function fortyThere() {
  const p = project(server, "incremental = false\n");
  const first = await runCli(["backup", "app", "--json"], { cwd: p.dir });
  expect(first.code).toBe(0);
  const [b] = parseJson(first.stdout).results;
  const hour = 3_600_000;
  const t0 = Date.now() - 40 * hour;
  fabricateBackups(
    b.manifest_path,
    p.folder,
    "app",
    Array.from({ length: 38 }, (_, i) => ({ at: new Date(t0 + i * hour).toISOString() })),
  );
  let copied: unknown[] = [];
  const logins = await loginsDuring(server, async () => {
    const sync = await runCli(["backup", "app", "--json"], { cwd: p.dir });
    expect(sync.code).toBe(0);
    copied = parseJson(sync.stdout).results[0].copies[0].uploaded;
  });
  expect([copied.length, logins]).toEqual([39, 1]);
  return p;
}

describe("one SSH connection per run", () => {
  it("a backup listing 40 remote backups and copying one; list and verify from there; a rotation there", async () => {
    const p = await fortyThere();
    expect(readdirSync(join(p.remote, "app")).filter((n) => n.endsWith(".json"))).toHaveLength(40);
    const run = (args: string[]) =>
      loginsDuring(server, async () => {
        const r = await runCli(args, { cwd: p.dir });
        expect([args, r.code]).toEqual([args, 0]);
        if (args.includes("--json")) out = parseJson(r.stdout);
        err = r.stderr;
      });
    let out: any;
    let err = "";

    expect(await run(["backup", "app", "--json"])).toBe(1);
    expect(out.results[0].copies[0]).toMatchObject({ ok: true, uploaded: [out.results[0].id], already_there: 40 });
    expect(await run(["list", "--from", "far", "--json"])).toBe(1);
    expect(out.backups).toHaveLength(41);
    expect(await run(["verify", "--from", "far", "--latest"])).toBe(1);
    // Copy and rotation at the destination: two steps, one session.
    expect(await run(["backup", "app", "--rotate"])).toBe(1);
    expect(err).toContain("app @ far: kept");
    expect(sshClientsOf(server.port)).toEqual([]);
  });

  it("one connection for every database of the run: copies, id keys and rotations of two databases", async () => {
    const p = project(server, '[[database]]\nname = "crm"\npath = "crm.db"\n');
    createAppDatabase(join(p.dir, "crm.db"), 20, 16);
    const logins = await loginsDuring(server, async () => {
      const r = await runCli(["backup", "--rotate", "--json"], { cwd: p.dir });
      expect(r.code).toBe(0);
      const { results } = parseJson(r.stdout);
      expect(results.map((x: any) => [x.database, x.copies[0].ok]).sort()).toEqual([
        ["app", true],
        ["crm", true],
      ]);
    });
    expect(logins).toBe(1);
    expect(readdirSync(p.remote).sort()).toEqual(["app", "crm"]);
  });

  it("a failing run leaves no ssh behind either, and a rejected key is one clear line (exit 1)", async () => {
    const p = project(server);
    expect((await runCli(["backup", "app"], { cwd: p.dir })).code).toBe(0);
    const before = server.logins();
    // The session is open (the listing worked), then the backup asked for is not there.
    const r = await runCli(["restore", "app", "--from", "far", "--id", "app-20000101T000000000Z-00000000", "--yes"], {
      cwd: p.dir,
    });
    // A usage error (exit 2, docs/exit-codes.md) found after the listing there.
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining("no backup with id app-20000101T000000000Z")]);
    expect(r.stderr).not.toContain("    at ");
    await Bun.sleep(100);
    expect(server.logins() - before).toBe(1);
    expect(sshClientsOf(server.port)).toEqual([]);

    // A key the server rejects: one line naming the destination once, exit 1 (docs/exit-codes.md).
    const toml = join(p.dir, "sqlbak.toml");
    writeFileSync(toml, readFileSync(toml, "utf8").replace(server.keyFile, server.wrongKeyFile));
    const denied = await runCli(["list", "--from", "far"], { cwd: p.dir });
    expect(denied.code).toBe(1);
    const errors = denied.stderr.split("\n").filter((l) => l.startsWith("[error]"));
    expect(errors).toEqual([
      expect.stringMatching(/^\[error\] sftp destination "far" \(sftp:\/\/.*authentication failed/),
    ]);
    expect(denied.stderr).not.toContain("destination far (");
    expect(sshClientsOf(server.port)).toEqual([]);
  });
});

describe("no ssh survives a run that is stopped inside the session", () => {
  it("at the run's timeout (exit 5)", async () => {
    const p = project(silent);
    const r = await runCli(["backup", "app", "--timeout", "2s"], { cwd: p.dir });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("timed out");
    expect(sshClientsOf(silent.port)).toEqual([]);
  }, 30_000);

  it("at SIGTERM", async () => {
    const p = project(silent);
    const proc = Bun.spawn([BIN, "backup", "app"], {
      cwd: p.dir,
      env: cleanEnv({}, p.dir),
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    // The session's sftp is up (and waits for a server that never answers): stop sqlbak now.
    const deadline = Date.now() + 20_000;
    while (sshClientsOf(silent.port).length < 2 && Date.now() < deadline) await Bun.sleep(20);
    expect(sshClientsOf(silent.port).length).toBeGreaterThanOrEqual(2);
    proc.kill("SIGTERM");
    await proc.exited;
    expect(proc.signalCode).toBe("SIGTERM");
    expect(sshClientsOf(silent.port)).toEqual([]);
  }, 30_000);
});
