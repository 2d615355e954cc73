/**
 * scripts/sqlbak-reassemble.py, the stdlib-only reader of docs/format.md, on
 * real backups made by the compiled binary: incremental backups (plain, and
 * encrypted to recipients with an identity file) and a self-contained file
 * backup rebuild to the manifest's raw SHA-256 with python3, zstd and age
 * alone; a damaged pack makes it exit 1 naming the pack, writing nothing.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  editManifest,
  exec,
  flipByte,
  makeProject,
  type Project,
  recordedRawSha256,
  sha256File,
} from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";

const SCRIPT = join(import.meta.dir, "../../scripts/sqlbak-reassemble.py");

/** Several binary runs, python3, zstd, age and sqlite3 per test: more than 5 s on a loaded 2-core machine. */
const SPAWNS_TIMEOUT_MS = 60_000;

function sh(cmd: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function reassemble(manifest: string, out: string, extra: string[] = []) {
  return sh(["python3", SCRIPT, manifest, out, ...extra]);
}

/** About 3 MiB (random payloads barely compress): packs of several 1 MiB frames. */
function project(toml: string): Project {
  const p = makeProject({ rows: 6000, payloadBytes: 400 });
  const config = join(p.dir, "sqlbak.toml");
  writeFileSync(config, `${toml}\n${readFileSync(config, "utf8")}`);
  return p;
}

/** Two backups with updates, deletes (free pages) and growth between them; their manifest paths. */
async function twoBackups(p: Project): Promise<string[]> {
  const ids: string[] = [];
  for (const change of [
    null,
    "UPDATE items SET name = 'changed' WHERE id % 97 = 0; DELETE FROM items WHERE id BETWEEN 2000 AND 2600; INSERT INTO items (name, payload) SELECT 'new', randomblob(400) FROM items WHERE id <= 1500",
  ]) {
    if (change) for (const sql of change.split("; ")) exec(p.db, sql);
    const r = await runCli(["backup", "app", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    ids.push(parseJson(r.stdout).results[0].id);
  }
  return ids.map((id) => join(p.folder, `${id}.json`));
}

/** The script rebuilds `manifest` into a new file whose SHA-256 is the manifest's raw one and that SQLite accepts. */
async function expectRebuilds(p: Project, manifest: string, extra: string[] = []) {
  const m = JSON.parse(readFileSync(manifest, "utf8"));
  const out = join(p.dir, `${m.id}.db`);
  const r = reassemble(manifest, out, extra);
  expect(r.stderr).toContain(`${m.id} rebuilt as`);
  expect(r.code).toBe(0);
  // Encrypted backups keep it in their meta block: `--identity FILE` opens that too.
  const identity = extra.includes("--identity") ? { identity: extra[extra.indexOf("--identity") + 1] } : undefined;
  expect(sha256File(out)).toBe(await recordedRawSha256(m, identity));
  expect(sh(["sqlite3", out, "pragma integrity_check"]).stdout).toBe("ok\n");
  return m;
}

describe("scripts/sqlbak-reassemble.py", () => {
  it(
    "rebuilds both of two incremental backups to their raw SHA-256",
    async () => {
      const p = project("incremental = true");
      const manifests = await twoBackups(p);
      const [first, second] = await Promise.all(manifests.map((m) => expectRebuilds(p, m)));
      expect([first.stored.format, second.stored.format]).toEqual(["pages", "pages"]);
      expect(second.stored.packs.length).toBeGreaterThan(1); // the second reuses the first's pack
      expect(first.raw.sha256).not.toBe(second.raw.sha256);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "rebuilds incremental backups encrypted to recipients with --identity, and asks for it without",
    async () => {
      const p = project("incremental = true");
      const keyFile = join(p.dir, "key.txt");
      expect(sh(["age-keygen", "-o", keyFile]).code).toBe(0);
      const recipient = sh(["age-keygen", "-y", keyFile]).stdout.trim();
      const config = join(p.dir, "sqlbak.toml");
      writeFileSync(
        config,
        readFileSync(config, "utf8").replace(
          "[[database]]",
          `[encryption]\nrecipients = ["${recipient}"]\n\n[[database]]`,
        ),
      );
      const manifests = await twoBackups(p);
      for (const manifest of manifests) {
        const m = await expectRebuilds(p, manifest, ["--identity", keyFile]);
        expect(m.stored.file).toEndWith(".map.zst.age");
        expect(m.stored.packs.every((k: { name: string }) => k.name.endsWith(".zst.age"))).toBe(true);
      }
      const without = reassemble(manifests[1]!, join(p.dir, "no-key.db"));
      expect(without.code).toBe(2);
      expect(without.stderr.trim()).toMatch(/encrypted to recipients: pass the identity file with --identity$/);
      expect(existsSync(join(p.dir, "no-key.db"))).toBe(false);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "rebuilds self-contained file backups too (zstd and gzip)",
    async () => {
      for (const compression of ["zstd", "gzip"]) {
        // Self-contained files on purpose: incremental = false.
        const p = project(`incremental = false\ncompression = "${compression}"`);
        const r = await runCli(["backup", "app", "--json"], { cwd: p.dir });
        expect(r.code).toBe(0);
        const m = await expectRebuilds(p, join(p.folder, `${parseJson(r.stdout).results[0].id}.json`));
        expect([m.stored.format ?? "file", m.stored.compression]).toEqual(["file", compression]);
      }
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "exits 1 naming a pack with one flipped byte, and writes nothing",
    async () => {
      const p = project("incremental = true");
      const [, second] = await twoBackups(p);
      const m = JSON.parse(readFileSync(second!, "utf8"));
      const shared = m.stored.packs.find((k: { new?: boolean }) => !k.new).name as string; // the first backup's pack
      flipByte(join(p.folder, shared), 5000);
      const before = readdirSync(p.dir).sort();
      const r = reassemble(second!, join(p.dir, "out.db"));
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(
          new RegExp(
            `^sqlbak-reassemble: pack ${shared} is damaged: SHA-256 [0-9a-f]{64}, the manifest records ${m.stored.packs.find((k: { name: string }) => k.name === shared).sha256}$`,
          ),
        ),
      ]);
      expect(readdirSync(p.dir).sort()).toEqual(before); // no out.db, no temporary file left
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "exits 1 when the rebuilt image is not the one the manifest records, and writes nothing",
    async () => {
      const p = project("incremental = true");
      const [, second] = await twoBackups(p);
      editManifest(second!, (m) => {
        m.raw.sha256 = "0".repeat(64);
      });
      const before = readdirSync(p.dir).sort();
      const r = reassemble(second!, join(p.dir, "out.db"));
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(
        /^sqlbak-reassemble: the rebuilt image's SHA-256 [0-9a-f]{64} is not the manifest's 0{64}$/,
      );
      expect(readdirSync(p.dir).sort()).toEqual(before);
    },
    SPAWNS_TIMEOUT_MS,
  );
});
