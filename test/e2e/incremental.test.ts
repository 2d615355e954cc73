/**
 * `incremental = true` through the compiled binary: backups are written as
 * pages (a map over shared packs), each adding only what changed; list and
 * stats report what each added and what sharing saves. It is the default;
 * `incremental = false` keeps today's self-contained files.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NO_KEYS } from "../../src/lib/codec/index.ts";
import { reassemblePages } from "../../src/lib/restore/index.ts";
import { listFolder } from "../../src/lib/store/index.ts";
import { makeDatabase, queryAll } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function setup(toml: string, dbToml = "") {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 2000, payloadBytes: 400 }); // about 1 MiB: many pages
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n${toml}\n[[database]]\nname = "app"\npath = "app.db"\n${dbToml}\n`,
  );
  return dir;
}

/** A small change: one row updated, so one or two pages differ from the previous backup. */
function touchOneRow(path: string) {
  const db = new Database(path);
  db.run("UPDATE items SET name = 'renamed' WHERE id = 7");
  db.close();
}

describe("incremental = true", () => {
  it("stores the second backup as the few changed pages; list and stats show what each added and the saving", async () => {
    const dir = setup("incremental = true");
    const dry = await runCli(["backup", "--dry-run"], { cwd: dir });
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(/would back up .*\.map\.zst \(incremental/);
    expect(existsSync(join(dir, "backups", "app"))).toBe(false); // a dry run makes no folder and no id key
    const first = await runCli(["backup", "--json"], { cwd: dir });
    expect(first.code).toBe(0);
    touchOneRow(join(dir, "app.db"));
    const second = await runCli(["backup", "--json"], { cwd: dir });
    expect(second.code).toBe(0);
    const [r1] = parseJson(first.stdout).results;
    const [r2] = parseJson(second.stdout).results;
    expect([r1.format, r2.format]).toEqual(["pages", "pages"]);
    expect(r2.data_path).toEndWith(".map.zst");
    expect(second.stderr).toContain(`app: ${r2.id} (`);

    const files = readdirSync(join(dir, "backups", "app"));
    expect(files.filter((f) => f.endsWith(".sqlite.zst"))).toEqual([]);
    expect(files.filter((f) => /^pack-.*\.zst$/.test(f)).length).toBeGreaterThanOrEqual(2);

    const list = await runCli(["list", "--json"], { cwd: dir });
    expect(list.code).toBe(0);
    const listed = parseJson(list.stdout).backups;
    expect(listed.map((b: any) => b.id)).toEqual([r1.id, r2.id]);
    expect(listed.map((b: any) => b.stored.format)).toEqual(["pages", "pages"]);
    const [a1, a2] = listed.map((b: any) => b.added_bytes);
    expect(a1).toBe(r1.stored_size);
    expect(a2).toBe(r2.stored_size);
    expect(a1).toBeGreaterThan(50_000); // the first stores every page (random payloads barely compress)
    expect(a2 * 20).toBeLessThan(a1); // the second only the pages the update touched

    const table = await runCli(["list"], { cwd: dir });
    expect(table.stdout).toMatch(/RAW \/ ADDED/);

    const stats = await runCli(["stats", "--json"], { cwd: dir });
    expect(stats.code).toBe(0);
    const app = parseJson(stats.stdout).databases[0];
    const rawSum = listed.reduce((n: number, b: any) => n + b.raw.size, 0);
    expect(app.raw_bytes).toBe(rawSum);
    expect(app.stored_bytes).toBeLessThan(rawSum);
    // Each pack once: the first backup's packs are shared, not counted twice.
    expect(app.stored_bytes).toBe(a1 + a2);
    expect(app.saved_bytes).toBe(rawSum - app.stored_bytes);
    expect(app.added_bytes_newest).toBe(a2);
    const text = await runCli(["stats"], { cwd: dir });
    expect(text.stdout).toMatch(/stored +\S+ \S+ for \S+ \S+ raw \(saved \d+(\.\d)?%\)/);

    // Both backups rebuild to the images they recorded, from what the binary stored.
    const { backups } = await listFolder(join(dir, "backups"), "app");
    const out = join(dir, "restored.db");
    for (const b of backups) {
      const got = await reassemblePages(b, join(dir, "backups", "app"), NO_KEYS, out);
      expect(got.rawSha256).toBe(b.manifest.raw.sha256!);
    }
    expect(queryAll(out, "SELECT name FROM items WHERE id = 7")).toEqual([{ name: "renamed" }]);
  });

  it("adopts the id key copy when the local key is gone, and warns when it must start a new one", async () => {
    const dir = setup("incremental = true");
    const folder = join(dir, "backups", "app");
    const backup = async () => {
      const r = await runCli(["backup", "--json"], { cwd: dir });
      expect(r.code).toBe(0);
      return { result: parseJson(r.stdout).results[0], stderr: r.stderr };
    };
    const first = await backup();
    const copy = readdirSync(folder).find((f) => /^id-key-[0-9a-f]{16}$/.test(f))!;
    expect(copy).toBeDefined();
    rmSync(join(folder, ".sqlbak-id-key")); // a backup_dir brought back without its local key
    const adopted = await backup();
    expect(adopted.result.warnings).toEqual([]);
    expect(adopted.result.stored_size * 20).toBeLessThan(first.result.stored_size); // same key: pages found again
    rmSync(join(folder, ".sqlbak-id-key"));
    writeFileSync(join(folder, copy), "not a key"); // the only copy is damaged
    const fresh = await backup();
    expect(fresh.result.warnings).toEqual([
      expect.stringContaining(`app: id key copy ${copy} not used (holds 9 bytes`),
      "app: started a new id key: this backup stores every page again",
    ]);
    expect(fresh.stderr).toContain("started a new id key");
    expect(fresh.result.stored_size).toBeGreaterThan(first.result.stored_size / 2); // nothing deduplicated
  });

  it("follows a database's own incremental over the global key", async () => {
    const dir = setup("incremental = true", "incremental = false");
    const r = await runCli(["backup", "--json"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).results[0]).toMatchObject({ format: "file" });
    expect(parseJson(r.stdout).results[0].data_path).toEndWith(".sqlite.zst");
  });

  it("refuses an incremental that is not true or false, naming the key, with exit 2", async () => {
    const dir = setup(`incremental = "yes"`);
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`incremental: expected true or false, got "yes"`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const per = setup("", "incremental = 1");
    const p = await runCli(["backup"], { cwd: per });
    expect(p.code).toBe(2);
    expect(p.stderr).toContain("database[0].incremental: expected true or false, got 1");
  });

  it("stores incremental backups by default", async () => {
    const dir = setup("");
    const r = await runCli(["backup", "--json"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).results[0]).toMatchObject({ format: "pages" });
    const files = readdirSync(join(dir, "backups", "app"));
    expect(files.filter((f) => f.endsWith(".sqlite.zst"))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".map.zst"))).toHaveLength(1);
  });

  it("keeps today's self-contained .sqlite.zst files with incremental = false", async () => {
    const dir = setup("incremental = false");
    const r = await runCli(["backup", "--json"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).results[0].format).toBe("file");
    const files = readdirSync(join(dir, "backups", "app"));
    expect(files.filter((f) => f.endsWith(".sqlite.zst"))).toHaveLength(1);
    expect(files.filter((f) => f.startsWith("pack-") || f.includes(".map.") || f.includes("id-key"))).toEqual([]);
    const list = parseJson((await runCli(["list", "--json"], { cwd: dir })).stdout).backups;
    expect(list[0].added_bytes).toBe(list[0].stored.size);
    expect(list[0].stored.format).toBe("file");
  });
});
