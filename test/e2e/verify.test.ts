/** `verify` through the compiled binary: good and damaged backups, selectors, history, exit codes. */
import { describe, expect, it } from "bun:test";
import {
  chownSync,
  existsSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { backupNow, editManifest, exec, flipByte, makeProject } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";

const manifestOf = (path: string) => JSON.parse(readFileSync(path, "utf8"));
/** How verify names a backup's own file: an incremental backup's is its page map. */
const fileNoun = (file: string) => (file.endsWith(".map.zst") ? "map file" : "data file");
/** How verify names damage to that file: "stored file" for a self-contained one, "map file <name>" for a map. */
const STORED = "(?:stored file|map file \\S+)";

describe("sqlbak verify", () => {
  it("passes a good backup (exit 0) and appends the outcome to its manifest and the op log", async () => {
    const p = makeProject({ dbToml: `probes = ["SELECT count(*) FROM items", "SELECT name FROM item_names LIMIT 1"]` });
    const b = await backupNow(p);
    const r = await runCli(["verify"], { cwd: p.dir });
    expect(r.stderr).toContain(`${b.id}: ok (quick`);
    expect(r.code).toBe(0);
    const history = manifestOf(b.manifest).verifications;
    // A record of an incremental backup also names the packs it found bad (none here).
    const pages = b.file.endsWith(".map.zst") ? { bad_packs: [] } : {};
    expect(history).toEqual([{ at: expect.any(String), level: "quick", ok: true, problems: [], ...pages }]);
    expect(statSync(b.manifest).mode & 0o777).toBe(0o600);
    const full = await runCli(["verify", b.id, "--level", "full", "--json"], { cwd: p.dir });
    expect(full.code).toBe(0);
    expect(parseJson(full.stdout).results).toEqual([
      expect.objectContaining({ id: b.id, level: "full", ok: true, problems: [] }),
    ]);
    expect(manifestOf(b.manifest).verifications.map((v: { level: string }) => v.level)).toEqual(["quick", "full"]);
    const log = readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(log.filter((e) => e.op === "verify")).toEqual([
      expect.objectContaining({ op: "verify", id: b.id, ok: true, level: "quick" }),
      expect.objectContaining({ op: "verify", id: b.id, ok: true, level: "full" }),
    ]);
    // No temporary copy is left beside the backup.
    expect(readdirSync(p.folder).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it.each([
    [
      "a flipped byte in the stored file",
      (b: { file: string }) => flipByte(b.file, -20),
      new RegExp(`${STORED} sha256 \\w+… does not match the manifest's`),
    ],
    [
      "a truncated stored file",
      (b: { file: string }) => truncateSync(b.file, statSync(b.file).size - 7),
      new RegExp(`${STORED} is \\d+ bytes, manifest says \\d+ \\(truncated or replaced\\)`),
    ],
    [
      "an edited row count",
      (b: { manifest: string }) => editManifest(b.manifest, (m) => (m.snapshot.tables.items += 1)),
      /table items has 50 rows, manifest says 51/,
    ],
    [
      "an edited raw sha256",
      (b: { manifest: string }) => editManifest(b.manifest, (m) => (m.raw.sha256 = "0".repeat(64))),
      // Worded differently for an incremental backup, whose image is reassembled from packs.
      /(decompressed image sha256 \w+… does not match the manifest's|the reassembled image's SHA-256 \w+ is not the recorded) 000000000000/,
    ],
    [
      "an edited page count",
      (b: { manifest: string }) => editManifest(b.manifest, (m) => (m.snapshot.page_count += 1)),
      /manifest is inconsistent: raw size \d+ is not page_size × page_count/,
    ],
    [
      "an edited stored sha256",
      (b: { manifest: string }) => editManifest(b.manifest, (m) => (m.stored.sha256 = "a".repeat(64))),
      new RegExp(`${STORED} sha256 \\w+… does not match the manifest's aaaaaaaaaaaa…`),
    ],
  ])("exits 3 on %s, naming the problem, and records the failure", async (_what, damage, message) => {
    const p = makeProject();
    const b = await backupNow(p);
    damage(b as never);
    const r = await runCli(["verify", "app"], { cwd: p.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`${b.id}: FAILED quick verification: .*${message.source}`));
    expect(r.stderr).toContain("1 of 1 backups failed verification");
    const last = manifestOf(b.manifest).verifications.at(-1);
    expect(last).toMatchObject({ level: "quick", ok: false });
    expect(last.problems.join("\n")).toMatch(message);
  });

  it("catches a flipped byte at the checksum level too", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    flipByte(b.file, -20); // from the end: an incremental backup's map is under 100 bytes
    const r = await runCli(["verify", b.id, "--level", "checksum"], { cwd: p.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("does not match the manifest's");
  });

  it("refuses a data file replaced by a symlink", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    renameSync(b.file, join(p.dir, "elsewhere.zst"));
    symlinkSync(join(p.dir, "elsewhere.zst"), b.file);
    const r = await runCli(["verify", b.id, "--level", "checksum"], { cwd: p.dir });
    expect(r.code).toBe(3);
    // An incremental backup's map is named: "map file <name> is a symbolic link".
    expect(r.stderr).toMatch(/(data file|map file \S+) is a symbolic link, not a regular file/);
  });

  it("fails when a configured probe fails on the restored copy", async () => {
    const p = makeProject({ dbToml: `probes = ["SELECT count(*) FROM items", "SELECT * FROM users"]` });
    const b = await backupNow(p);
    const r = await runCli(["verify"], { cwd: p.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `${b.id}: FAILED quick verification: probe "SELECT * FROM users" failed: no such table: users`,
    );
  });

  it("fails on foreign key violations in the copy", async () => {
    const p = makeProject();
    exec(p.db, "CREATE TABLE parent (id INTEGER PRIMARY KEY)");
    exec(p.db, "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))");
    exec(p.db, "INSERT INTO child VALUES (1, 42)");
    await backupNow(p);
    const r = await runCli(["verify"], { cwd: p.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("foreign_key_check: 1 violation(s), first in table child");
  });

  it("checks only the newest by default, every one with --all, one bad one fails the run", async () => {
    const p = makeProject();
    const old = await backupNow(p);
    const newest = await backupNow(p);
    flipByte(old.file, -20); // from the end: an incremental backup's map is under 100 bytes
    const byDefault = await runCli(["verify", "--json"], { cwd: p.dir });
    expect(byDefault.code).toBe(0);
    expect(parseJson(byDefault.stdout).results.map((r: { id: string }) => r.id)).toEqual([newest.id]);
    const all = await runCli(["verify", "--all", "--level", "checksum"], { cwd: p.dir });
    expect(all.code).toBe(3);
    expect(all.stderr).toContain(`${old.id}: FAILED checksum verification`);
    expect(all.stderr).toContain(`${newest.id}: ok (checksum`);
    expect(all.stderr).toContain("1 of 2 backups failed verification");
  });

  it("--all fails (exit 3) on a backup whose data file is missing, naming it, and records the failure", async () => {
    // Bug: the missing backup was only "skipped" with a warning and verify --all exited 0.
    const p = makeProject();
    const gone = await backupNow(p);
    const kept = await backupNow(p);
    rmSync(gone.file);
    const r = await runCli(["verify", "--all", "--level", "checksum"], { cwd: p.dir });
    expect(r.stderr).toContain(
      `${gone.id}: FAILED checksum verification: ${fileNoun(gone.file)} ${basename(gone.file)} is missing`,
    );
    expect(r.stderr).toContain(`${kept.id}: ok (checksum`);
    expect(r.stderr).toContain("1 of 2 backups failed verification");
    expect(r.code).toBe(3);
    expect(manifestOf(gone.manifest).verifications.at(-1)).toMatchObject({
      level: "checksum",
      ok: false,
      problems: [`${fileNoun(gone.file)} ${basename(gone.file)} is missing`],
    });
    // Naming it by id fails the same way instead of "no backup with id".
    const one = await runCli(["verify", gone.id], { cwd: p.dir });
    expect(one.stderr).toContain(
      `${gone.id}: FAILED quick verification: ${fileNoun(gone.file)} ${basename(gone.file)} is missing`,
    );
    expect(one.code).toBe(3);
  });

  it("sends a failure notification for a failed verification, and none for a good one", async () => {
    const received: any[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => (received.push(await req.json()), new Response("ok")),
    });
    try {
      const p = makeProject({
        toml: `[notify]\non = ["failure"]\nwebhook = "http://127.0.0.1:${server.port}/hook"\ntimeout = "2s"`,
      });
      const b = await backupNow(p);
      expect((await runCli(["verify", b.id], { cwd: p.dir })).code).toBe(0);
      expect(received).toEqual([]);
      flipByte(b.file, -20);
      const r = await runCli(["verify", b.id], { cwd: p.dir });
      expect(r.code).toBe(3);
      expect(received).toEqual([
        expect.objectContaining({
          event: "verify.failure",
          database: "app",
          id: b.id,
          file: b.file,
          error: expect.stringContaining("does not match the manifest's"),
        }),
      ]);
      expect(received[0].title).toContain(`verification of ${b.id} FAILED`);
    } finally {
      server.stop(true);
    }
  });

  it("--random picks the backup never verified, then the least recently verified, by id", async () => {
    const p = makeProject();
    const [a, b, c, d] = [await backupNow(p), await backupNow(p), await backupNow(p), await backupNow(p)];
    // Known verification order: c, then a, then d; b never. Verify times differ by at least a process start.
    for (const x of [c, a, d])
      expect((await runCli(["verify", x.id, "--level", "checksum"], { cwd: p.dir })).code).toBe(0);
    const picks: string[][] = [];
    for (const args of [
      ["--random"],
      ["--random", "app"],
      ["app", "--random", "1"],
      ["--random"],
      ["--random"],
      ["--random"],
    ]) {
      const r = await runCli(["verify", ...args, "--level", "checksum", "--json"], { cwd: p.dir });
      expect(r.code).toBe(0);
      picks.push(parseJson(r.stdout).results.map((x: { id: string }) => x.id));
    }
    // Each pick becomes the most recently verified, so the order cycles: a chance pick passes 1 time in 4^6.
    expect(picks).toEqual([[b.id], [c.id], [a.id], [d.id], [b.id], [c.id]]);
    const two = await runCli(["verify", "--random", "2", "--level", "checksum", "--json"], { cwd: p.dir });
    expect(two.code).toBe(0);
    expect(
      parseJson(two.stdout)
        .results.map((x: { id: string }) => x.id)
        .sort(),
    ).toEqual([a.id, d.id].sort());
    expect([a, b, c, d].map((x) => manifestOf(x.manifest).verifications.length)).toEqual([3, 2, 3, 3]);
  });

  it("an unknown id suggests a list command that reads the same backup folder", async () => {
    const p = makeProject();
    expect((await runCli(["backup", "app", "--backup-dir", "elsewhere"], { cwd: p.dir })).code).toBe(0);
    const r = await runCli(["verify", "app-20200101T000000000Z-deadbeef", "--backup-dir", "elsewhere"], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("see `sqlbak list app --backup-dir elsewhere` for the backups there are");
  });

  it(`removes scratch folders a killed verify left in the temp dir once idle for a day; keeps fresh, busy, \
foreign and other ones`, async () => {
    // A verify killed while checking in the temp dir (full backup_dir) left a whole decompressed copy there forever.
    const p = makeProject();
    const b = await backupNow(p);
    const tmp = join(p.dir, "tmp");
    mkdirSync(tmp);
    const dayAgo = new Date(Date.now() - 25 * 60 * 60 * 1000);
    const plant = (name: string, opts: { freshFile?: boolean } = {}) => {
      const path = join(tmp, name);
      mkdirSync(path);
      writeFileSync(join(path, "app.sqlite.tmp"), "half a copy");
      if (!opts.freshFile) utimesSync(join(path, "app.sqlite.tmp"), dayAgo, dayAgo);
      utimesSync(path, dayAgo, dayAgo);
      return path;
    };
    const stale = plant("sqlbak-verify-AbC123");
    const busy = plant("sqlbak-verify-Busy01", { freshFile: true });
    const notOurs = plant("sqlbak-verify-toolong1");
    const fresh = join(tmp, "sqlbak-verify-XyZ789");
    mkdirSync(fresh);
    const target = plant("keep-me");
    const link = join(tmp, "sqlbak-verify-Lnk000");
    symlinkSync(target, link);
    lutimesSync(link, dayAgo, dayAgo);
    const kept = [busy, notOurs, fresh, link, join(target, "app.sqlite.tmp")];
    if (process.getuid?.() === 0) {
      const foreign = plant("sqlbak-verify-Other1");
      chownSync(foreign, 65534, 65534);
      kept.push(foreign);
    }
    const r = await runCli(["verify"], { cwd: p.dir, env: { TMPDIR: tmp } });
    expect(r.stderr).toContain(`${b.id}: ok (quick`);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`removed ${stale}, a scratch folder left by a killed verify`);
    expect(existsSync(stale)).toBe(false);
    for (const k of kept) expect(existsSync(k)).toBe(true);
  });

  it("caps the history at 50 entries", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    editManifest(
      b.manifest,
      (m) =>
        (m.verifications = Array.from({ length: 50 }, (_, i) => ({
          at: new Date(i * 1000).toISOString(),
          level: "checksum",
          ok: true,
          problems: [],
        }))),
    );
    expect((await runCli(["verify", b.id], { cwd: p.dir })).code).toBe(0);
    const history = manifestOf(b.manifest).verifications;
    expect(history).toHaveLength(50);
    expect(history[0].at).toBe(new Date(1000).toISOString());
    expect(history.at(-1).level).toBe("quick");
  });

  it.each([
    [["../../etc/passwd"], '"../../etc/passwd" is not a backup id or a database name'],
    [["/etc/passwd"], '"/etc/passwd" is not a backup id or a database name'],
    [["nosuchdb"], 'unknown database "nosuchdb"'],
    [["app-20250101T000000000Z-deadbeef"], "no backup with id app-20250101T000000000Z-deadbeef"],
    [["--all", "--random"], "choose one of --all, --random"],
    [["--random", "0"], '--random takes a positive number, not "0"'],
  ])("exits 2 for verify %p", async (args, message) => {
    const p = makeProject();
    await backupNow(p);
    const r = await runCli(["verify", ...args], { cwd: p.dir });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
  });

  it("exits 3 when there is nothing to verify", async () => {
    const p = makeProject();
    const r = await runCli(["verify"], { cwd: p.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("nothing to verify: no backups under");
  });

  it("skips a manifest that no longer parses, with a warning, instead of trusting it", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    editManifest(b.manifest, (m) => (m.kind = "bogus"));
    const r = await runCli(["verify", "--all"], { cwd: p.dir });
    expect(r.stderr).toContain('manifest has an unknown kind "bogus"');
    expect(r.stderr).toContain("nothing to verify");
    expect(r.code).toBe(3);
  });
});
