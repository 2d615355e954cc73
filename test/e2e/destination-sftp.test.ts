/**
 * `[[destination]]` type sftp through the compiled binary, against a real
 * OpenSSH server on 127.0.0.1 (test/helpers/sshd.ts): copy after backup, the
 * disaster restore with the local folder gone, rotation at the destination,
 * and a rejected key that never fails the local backup.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { makeProject, rows } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { type Sshd, startSshd } from "../helpers/sshd.ts";

let server: Sshd;
let serverDir: string;
let seq = 0;

beforeAll(async () => {
  // Outlives single tests, so not a helpers/tmp.ts folder.
  serverDir = mkdtempSync(join(tmpdir(), "sqlbak-sshd-"));
  server = await startSshd(serverDir);
});
afterAll(async () => {
  await server?.stop();
  rmSync(serverDir, { recursive: true, force: true });
});

/** A project whose destination is a fresh remote folder; `remote` is that folder on this machine. */
function project(opts: { keyFile?: string; toml?: string } = {}) {
  const remote = join(server.root, `e2e-${++seq}`);
  const dest = [
    "[[destination]]",
    'name = "far"',
    'type = "sftp"',
    `host = "${server.host}"`,
    `port = ${server.port}`,
    `user = "${server.user}"`,
    `key_file = "${opts.keyFile ?? server.keyFile}"`,
    `known_hosts = "${server.knownHosts}"`,
    `path = "${remote}"`,
  ].join("\n");
  return { ...makeProject({ dbToml: dest, toml: opts.toml }), remote };
}

/** The local folder's files that go to a destination: all but the lock and the local id key (`.sqlbak-*`). */
const shipped = (folder: string) =>
  readdirSync(folder)
    .filter((n) => !n.startsWith(".sqlbak-"))
    .sort();

describe("sftp destination", () => {
  it("copies each backup (data, then manifest), lists and restores from it after backup_dir is lost", async () => {
    const p = project();
    const r = await runCli(["backup", "app", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    const [b] = parseJson(r.stdout).results;
    expect(b.copies).toEqual([expect.objectContaining({ destination: "far", ok: true, uploaded: [b.id] })]);
    // Its manifest and data file (an incremental backup's map), plus the packs and id key copy it shares.
    expect(shipped(p.folder)).toEqual(expect.arrayContaining([`${b.id}.json`, basename(b.data_path)]));
    expect(readdirSync(join(p.remote, "app")).sort()).toEqual(shipped(p.folder));
    for (const n of shipped(p.folder))
      expect(readFileSync(join(p.remote, "app", n)).equals(readFileSync(join(p.folder, n)))).toBe(true);

    const want = rows(p.db, "SELECT count(*) AS n FROM items");
    rmSync(join(p.dir, "backups"), { recursive: true });
    rmSync(p.db);
    const list = await runCli(["list", "--from", "far", "--json"], { cwd: p.dir });
    expect([list.code, parseJson(list.stdout).backups.map((x: { id: string }) => x.id)]).toEqual([0, [b.id]]);
    const verify = await runCli(["verify", "--from", "far"], { cwd: p.dir });
    expect(verify.code).toBe(0);
    const restored = await runCli(["restore", "app", "--from", "far", "--latest", "--yes"], { cwd: p.dir });
    expect(restored.code).toBe(0);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual(want);
  });

  it("rotation removes at the destination what it removed locally", async () => {
    const p = project({ toml: "[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n" });
    const first = parseJson((await runCli(["backup", "--rotate", "--json"], { cwd: p.dir })).stdout).results[0];
    const second = await runCli(["backup", "--rotate", "--json"], { cwd: p.dir });
    expect(second.code).toBe(0);
    const [b] = parseJson(second.stdout).results;
    expect(b.rotation.removed).toEqual([first.id]);
    expect(
      readdirSync(join(p.remote, "app"))
        .filter((n) => !n.startsWith("."))
        .sort(),
    ).toEqual(shipped(p.folder));
    expect(shipped(p.folder).filter((n) => n.startsWith("app-"))).toEqual(
      [`${b.id}.json`, basename(b.data_path)].sort(),
    );
  });

  it("a key the server rejects is a warning: the local backup succeeds, and the next good run catches up", async () => {
    const bad = project({ keyFile: server.wrongKeyFile });
    const r = await runCli(["backup", "app", "--json"], { cwd: bad.dir });
    expect(r.code).toBe(0);
    const [b] = parseJson(r.stdout).results;
    expect(b.ok).toBe(true);
    expect(b.copies[0].ok).toBe(false);
    expect(r.stderr).toMatch(/app → far: copy failed: .*(denied|authenticat)/i);
    expect(r.stderr).not.toContain("    at ");

    const toml = join(bad.dir, "sqlbak.toml");
    writeFileSync(toml, readFileSync(toml, "utf8").replace(server.wrongKeyFile, server.keyFile));
    const next = await runCli(["backup", "app", "--json"], { cwd: bad.dir });
    const [b2] = parseJson(next.stdout).results;
    expect([next.code, b2.copies[0].ok, b2.copies[0].uploaded]).toEqual([0, true, [b2.id, b.id]]);
  });
});
