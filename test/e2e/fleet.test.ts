/** Fleets through the compiled binary: `[[database]] glob`/`folder` discovery, and `backup --parallel`. */
import { describe, expect, it } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

interface Row {
  database: string;
  source: string;
  ok: boolean;
  error?: string;
}

/** A project whose tenants live in `tenants/<name>/app.db`, under a glob entry (plus `extra` TOML). */
function tenants(names: string[], entry = "", extra = "") {
  const dir = tempDir();
  for (const n of names) {
    mkdirSync(join(dir, "tenants", n), { recursive: true });
    makeDatabase(join(dir, "tenants", n, "app.db"), { rows: 5, journalMode: "delete" });
  }
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n${extra}\n[[database]]\nglob = "tenants/*/app.db"\n${entry}`,
  );
  return dir;
}

async function backupJson(dir: string, ...args: string[]) {
  const r = await runCli(["backup", "--json", ...args], { cwd: dir });
  return { ...r, rows: (r.stdout ? parseJson(r.stdout).results : []) as Row[] };
}

describe("[[database]] glob", () => {
  it("backs up one database per file, named from the glob's first wildcard", async () => {
    const dir = tenants(["t1", "t2", "t3", "t4", "t5"]);
    const r = await backupJson(dir);
    expect(r.code).toBe(0);
    expect(r.rows.map((x) => x.database)).toEqual(["t1", "t2", "t3", "t4", "t5"]);
    expect(r.rows.map((x) => x.source)).toEqual(
      ["t1", "t2", "t3", "t4", "t5"].map((t) => join(dir, "tenants", t, "app.db")),
    );
    expect(r.rows.every((x) => x.ok)).toBe(true);
    const list = await runCli(["list", "--json"], { cwd: dir });
    expect(list.code).toBe(0);
    expect(new Set((parseJson(list.stdout).backups as { database: string }[]).map((b) => b.database))).toEqual(
      new Set(["t1", "t2", "t3", "t4", "t5"]),
    );
  });

  it("slugs what the path gives into a database name: spaces, capitals, dots and accents", async () => {
    const dir = tenants(["Acme Corp", "BETA.Inc", "Crème Brûlée", "_x"], `name = "cust-{1}"\n`);
    const r = await backupJson(dir);
    expect(r.code).toBe(0);
    expect(r.rows.map((x) => x.database).sort()).toEqual([
      "cust-_x",
      "cust-acme-corp",
      "cust-beta-inc",
      "cust-creme-brulee",
    ]);
  });

  it("refuses two paths that would get one name, naming both (exit 2)", async () => {
    const dir = tenants(["Acme", "acme"]);
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(dir, "tenants", "Acme", "app.db"));
    expect(r.stderr).toContain(join(dir, "tenants", "acme", "app.db"));
    expect(r.stderr).toContain('would both be backed up as "acme"');
    expect(r.stderr).not.toContain("    at ");
  });

  it("refuses a name template that refers to a wildcard the glob does not have", async () => {
    const dir = tenants(["a"], `name = "{2}"\n`);
    const r = await runCli(["list"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('database[0].name: "{2}" refers to wildcard 2, but the glob has 1');
  });

  it("picks up a tenant that appears, and reports one that vanished while its backups still rotate by the entry's policy", async () => {
    // Globally every scheduled backup is kept (keep_last 50); the entry keeps one.
    const dir = tenants(
      ["a", "b"],
      "[database.retention]\nkeep_last = 1\n",
      'timezone = "UTC"\n[retention]\nkeep_last = 50\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n',
    );
    for (let i = 0; i < 3; i++) expect((await backupJson(dir, "--kind", "scheduled")).code).toBe(0);
    mkdirSync(join(dir, "tenants", "c"));
    makeDatabase(join(dir, "tenants", "c", "app.db"), { rows: 5, journalMode: "delete" });
    rmSync(join(dir, "tenants", "b"), { recursive: true });
    const next = await backupJson(dir);
    expect(next.code).toBe(0);
    expect(next.rows.map((x) => x.database)).toEqual(["a", "c"]);
    expect(next.stderr).toContain(
      `b: ${join(dir, "tenants", "b", "app.db")} is no longer found by tenants/*/app.db; its backups are kept`,
    );

    const stats = await runCli(["stats", "--json"], { cwd: dir });
    const dbs = parseJson(stats.stdout).databases as { database: string; configured: boolean }[];
    expect(dbs.find((d) => d.database === "b")?.configured).toBe(false);
    expect(dbs.find((d) => d.database === "c")?.configured).toBe(true);
    const human = await runCli(["stats"], { cwd: dir });
    expect(human.stdout).toContain("b  (not in the config)");

    const rot = await runCli(["rotate", "--json"], { cwd: dir });
    expect(rot.code).toBe(0);
    const b = (parseJson(rot.stdout).results as { database: string; removed: string[] }[]).find(
      (x) => x.database === "b",
    )!;
    expect(b.removed.length).toBe(2);
    const left = await runCli(["list", "b", "--json"], { cwd: dir });
    expect((parseJson(left.stdout).backups as unknown[]).length).toBe(1);
  });
});

describe("[[database]] folder", () => {
  it("takes the SQLite files directly in the folder, named by their stem", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "dbs", "nested"), { recursive: true });
    for (const f of ["One.db", "two.sqlite", "three.sqlite3", "nested/four.db"])
      makeDatabase(join(dir, "dbs", f), { rows: 2, journalMode: "delete" });
    writeFileSync(join(dir, "dbs", "notes.txt"), "not a database");
    writeFileSync(join(dir, "dbs", "One.db-wal"), "");
    writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "backups"\n[[database]]\nfolder = "dbs"\n`);
    const r = await backupJson(dir);
    expect(r.code).toBe(0);
    expect(r.rows.map((x) => x.database)).toEqual(["one", "three", "two"]);
  });
});

/** Holds `folder`'s sqlbak lock from another process, as a concurrent run would; resolves once held. */
async function holdLock(folder: string): Promise<Bun.Subprocess> {
  mkdirSync(folder, { recursive: true });
  const script =
    'const { Database } = require("bun:sqlite"); const db = new Database(process.argv[1] + "/.sqlbak-lock", { create: true });' +
    'db.run("PRAGMA journal_mode = MEMORY"); db.run("BEGIN EXCLUSIVE"); console.error("ready"); setInterval(() => {}, 1000);';
  const proc = Bun.spawn(["bun", "-e", script, folder], { stdout: "ignore", stderr: "pipe" });
  const reader = proc.stderr.getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`lock holder exited: ${seen}`);
    seen += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return proc;
}

describe("backup --parallel", () => {
  it("backs up 12 databases 4 at a time; a file that is not SQLite fails alone (exit 1, one JSON row each)", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, "0")}`);
    const dir = tenants(names);
    writeFileSync(join(dir, "tenants", "t05", "app.db"), "this is not a database, just text ".repeat(200));
    const r = await backupJson(dir, "--parallel", "4");
    expect(r.code).toBe(1);
    expect(r.rows.map((x) => x.database)).toEqual(names);
    expect(r.rows.filter((x) => !x.ok).map((x) => x.database)).toEqual(["t05"]);
    expect(r.rows.find((x) => !x.ok)!.error).toContain("not a SQLite database");
    expect(r.stderr).toContain("11 of 12 databases backed up");
    expect(r.stderr).toContain("(4 at a time); failed: t05");
    // What ran side by side restores: every backup verifies.
    const v = await runCli(["verify", "--all"], { cwd: dir });
    expect(v.stderr).not.toContain("FAILED");
    expect(v.code).toBe(0);
  });

  it("runs the others while one waits for its lock: each database has its own", async () => {
    const dir = tenants(["a", "b", "c"], "", 'lock_timeout = "3s"');
    const holder = await holdLock(join(dir, "backups", "a"));
    try {
      const r = await backupJson(dir, "--parallel", "2");
      expect(r.code).toBe(4);
      expect(r.rows.map((x) => [x.database, x.ok])).toEqual([
        ["a", false],
        ["b", true],
        ["c", true],
      ]);
      // In turn, b and c would start only after a gave up; here they are done before.
      const log = readFileSync(join(dir, "backups", "sqlbak.log.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { op: string; database?: string })
        .filter((e) => e.op === "backup");
      expect(log.map((e) => e.database)).toEqual(["b", "c", "a"]);
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  it("--parallel 1 backs up in turn, and a bad --parallel is a usage error", async () => {
    const dir = tenants(["a", "b"]);
    const one = await backupJson(dir, "--parallel", "1");
    expect(one.code).toBe(0);
    expect(one.stderr).toContain("2 of 2 databases backed up");
    expect(one.stderr).toContain("(1 at a time)");
    const bad = await runCli(["backup", "--parallel", "0"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--parallel takes a whole number from 1 to 64, not "0"');
  });
});
