/** `backup` and `list` through the compiled binary, with their exit codes. */
import { describe, expect, it } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { whileLocked } from "../helpers/backups.ts";
import { rebuildBackup } from "../helpers/check-backups.ts";
import { integrityCheck, makeDatabase, queryAll } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { BIN, cleanEnv, runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function setup(extraToml = "") {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 50 });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n${extraToml}\n[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  return dir;
}

function sha256(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

describe("sqlbak backup + list", () => {
  it.each([true, false])(
    "backs up a configured database and lists it; the manifest matches the stored file (incremental = %s)",
    async (incremental) => {
      const dir = setup(`incremental = ${incremental}`);
      const b = await runCli(["backup", "--tag", "pre-migration"], { cwd: dir });
      expect(b.stderr).toContain("app: app-");
      expect(b.code).toBe(0);
      expect(b.stdout).toBe("");

      const list = await runCli(["list", "--json"], { cwd: dir });
      expect(list.code).toBe(0);
      const [entry, ...rest] = parseJson(list.stdout).backups;
      expect(rest).toEqual([]);
      expect(entry).toMatchObject({ database: "app", kind: "manual", tags: ["pre-migration"], check: { ok: true } });
      expect(sha256(entry.file)).toBe(entry.stored.sha256);
      expect(statSync(entry.file).size).toBe(entry.stored.size);
      expect(statSync(entry.file).mode & 0o777).toBe(0o600);
      expect(statSync(entry.manifest).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, "backups", "app")).mode & 0o777).toBe(0o700);

      const restored = join(dir, "restored.db");
      rebuildBackup(entry, restored); // zstd -d, or the reassembly script for an incremental backup
      expect(sha256(restored)).toBe(entry.raw.sha256);
      expect(integrityCheck(restored)).toBe("ok");
      expect(queryAll(restored, "SELECT count(*) AS c FROM items")).toEqual([{ c: 50 }]);

      const table = await runCli(["list"], { cwd: dir });
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^ID\s+CREATED\s+AGE\s+KIND\s+TAGS\s+RAW \/ ADDED\s+VERIFIED\n/);
      expect(table.stdout).toContain(entry.id);
      expect(table.stdout).toContain("pre-migration");

      const log = readFileSync(join(dir, "backups", "sqlbak.log.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(log).toEqual([expect.objectContaining({ op: "backup", database: "app", ok: true, id: entry.id })]);
    },
  );

  it("works with no config at all, given a path", async () => {
    const dir = tempDir();
    makeDatabase(join(dir, "Shop Data.sqlite"));
    const b = await runCli(["backup", "Shop Data.sqlite", "--json"], { cwd: dir });
    expect(b.code).toBe(0);
    const [result] = parseJson(b.stdout).results;
    expect(result).toMatchObject({ database: "shop-data", ok: true });
    expect(result.data_path.startsWith(`${join(dir, "backups", "shop-data")}/`)).toBe(true);
    const list = await runCli(["list", "shop-data", "--json"], { cwd: dir });
    expect(parseJson(list.stdout).backups.map((e: { id: string }) => e.id)).toEqual([result.id]);
  });

  it("writes nothing on --dry-run", async () => {
    const dir = setup();
    const b = await runCli(["backup", "--dry-run"], { cwd: dir });
    expect(b.code).toBe(0);
    expect(b.stderr).toContain("would back up");
    expect(readdirSync(dir)).not.toContain("backups");
  });

  it("skips stray and malformed files when listing, and says so", async () => {
    const dir = setup();
    expect((await runCli(["backup"], { cwd: dir })).code).toBe(0);
    const folder = join(dir, "backups", "app");
    writeFileSync(join(folder, "app-20250101T000000000Z-deadbeef.json"), "{ not json");
    writeFileSync(join(folder, ".app-20250101T000000000Z-deadbeef.sqlite.zst.1234abcd.tmp"), "partial");
    writeFileSync(join(folder, "notes.txt"), "hello");
    const list = await runCli(["list", "--json"], { cwd: dir });
    expect(list.code).toBe(0);
    expect(parseJson(list.stdout).backups).toHaveLength(1);
    expect(list.stderr).toContain("app-20250101T000000000Z-deadbeef.json: manifest is not valid JSON");
  });

  it("keeps going after one database fails and reports it in the exit code", async () => {
    const dir = setup(`[[database]]\nname = "gone"\npath = "missing.db"`);
    const b = await runCli(["backup", "--json"], { cwd: dir });
    expect(b.code).toBe(1);
    const results = parseJson(b.stdout).results;
    expect(results.map((r: { database: string; ok: boolean }) => [r.database, r.ok])).toEqual([
      ["gone", false],
      ["app", true],
    ]);
    expect(b.stderr).toContain("1 of 2 backups failed");
  });
});

describe("exit codes and messages", () => {
  it.each([
    ["bad TOML", `backup_dir = = 1`, /invalid TOML/],
    ["an unknown key", `backup_dri = "x"`, /backup_dri: unknown key/],
    ["a bad duration", `lock_timeout = "forever"`, /lock_timeout: "forever" is not a duration/],
  ])("exits 2 on %s, naming the file, without a stack trace", async (_what, toml, message) => {
    const dir = tempDir();
    makeDatabase(join(dir, "app.db"));
    writeFileSync(join(dir, "sqlbak.toml"), toml);
    const r = await runCli(["backup", "app.db"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(join(dir, "sqlbak.toml"));
    expect(r.stderr).not.toContain("    at ");
    expect(readdirSync(dir)).not.toContain("backups");
  });

  it("exits 2 for an unknown option, command or database name", async () => {
    const dir = setup();
    expect((await runCli(["backup", "--frobnicate"], { cwd: dir })).stderr).toContain("unknown option --frobnicate");
    expect((await runCli(["backup", "--frobnicate"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["frobnicate"], { cwd: dir })).code).toBe(2);
    const r = await runCli(["backup", "nosuchdb"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown database "nosuchdb"');
  });

  it(`with nothing to back up, the suggested command repeats --config and --backup-dir \
and names the config file used`, async () => {
    // The hint used to say `sqlbak backup path/to/app.db` and "sqlbak.toml":
    // pasted, it read another config and wrote to another folder.
    const dir = tempDir();
    mkdirSync(join(dir, "conf"));
    writeFileSync(join(dir, "conf", "empty.toml"), `backup_dir = "cfg-backups"\n`);
    const r = await runCli(["backup", "--config", "conf/empty.toml", "--backup-dir", "my backups"], { cwd: dir });
    expect(r.code).toBe(2);
    const suggested = /run `(sqlbak backup [^`]*)`/.exec(r.stderr)?.[1];
    expect(suggested).toBe("sqlbak backup --config conf/empty.toml --backup-dir 'my backups' path/to/app.db");
    expect(r.stderr).toContain(`or add [[database]] entries to ${join(dir, "conf", "empty.toml")}`);
    mkdirSync(join(dir, "path", "to"), { recursive: true });
    makeDatabase(join(dir, "path", "to", "app.db"));
    const ran = Bun.spawnSync(["sh", "-c", `sqlbak() { "$SQLBAK" "$@"; }; ${suggested}`], {
      cwd: dir,
      env: cleanEnv({ SQLBAK: BIN }, dir),
    });
    expect(ran.exitCode).toBe(0);
    expect(readdirSync(join(dir, "my backups", "app")).filter((n) => /^app-.*\.json$/.test(n))).toHaveLength(1);
    expect(existsSync(join(dir, "cfg-backups"))).toBe(false);
    expect(existsSync(join(dir, "backups"))).toBe(false);
  });

  it("exits 1 for a missing database file", async () => {
    const dir = tempDir();
    const r = await runCli(["backup", "missing.db"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot open database ${join(dir, "missing.db")}: no such file or directory`);
  });

  it("exits 1 for a file that is not SQLite, and writes no backup", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "notes.db"), "just some text, certainly not a database");
    const r = await runCli(["backup", "notes.db"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`not a SQLite database: ${join(dir, "notes.db")}`);
    expect(r.stderr).not.toContain("    at ");
  });

  it("exits 1 when the backup folder is not writable", async () => {
    const dir = setup();
    chmodSync(dir, 0o755);
    const folder = join(dir, "ro");
    Bun.spawnSync(["mkdir", "-m", "0555", folder]);
    // root ignores permissions, so run as nobody when we are root.
    const prefix = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), statSync(join(dir, f)).isDirectory() ? 0o555 : 0o644);
    const r = await runCli(["backup", "--backup-dir", folder], { cwd: dir, prefix });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot create backup folder ${join(folder, "app")}: permission denied`);
  });

  it("exits 4 when another run holds the lock, naming the holder's lock", async () => {
    const dir = setup(`lock_timeout = "1s"`);
    expect((await runCli(["backup"], { cwd: dir })).code).toBe(0);
    await whileLocked(join(dir, "backups", "app"), async () => {
      const r = await runCli(["backup"], { cwd: dir });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('database "app" is locked');
    });
    expect((await runCli(["backup"], { cwd: dir })).code).toBe(0);
  });

  it("prints the version and help", async () => {
    const v = await runCli(["--version"]);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await runCli(["--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("EXIT CODES");
    // Not a terminal: plain text, no colour escapes for pagers and scripts.
    expect(h.stdout).not.toContain("\x1b[");
    const sub = await runCli(["restore", "--help"]);
    expect([sub.code, sub.stdout.includes("--latest"), sub.stdout.includes("\x1b[")]).toEqual([0, true, false]);
  });
});
