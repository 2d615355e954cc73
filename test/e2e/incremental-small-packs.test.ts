/**
 * Frequent backups of a database that changes a little each time: each one
 * stores a few pages in a small pack. Without folding, every later backup's
 * map references every one of those packs (each read and looked up by every
 * later backup, and opened by a restore); small packs now fold into the next
 * backup's new pack, so the packs the newest backup references stay few,
 * every backup still restores, and an unchanged database still stores nothing.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { manifestFileName } from "../../src/lib/model/index.ts";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("small packs of frequent backups", () => {
  it("fold into the next backup's pack: the newest backup references a few packs after 24 small changes", async () => {
    const dir = tempDir();
    const path = join(dir, "app.db");
    makeDatabase(path, { rows: 3000, payloadBytes: 400 });
    writeFileSync(join(dir, "sqlbak.toml"), 'backup_dir = "backups"\n[[database]]\nname = "app"\npath = "app.db"\n');
    const manifest = async () => {
      const r = await runCli(["backup", "--json"], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const id = parseJson(r.stdout).results[0].id as string;
      return JSON.parse(readFileSync(join(dir, "backups", "app", manifestFileName(id)), "utf8"));
    };
    await manifest();
    const db = new Database(path);
    let last: any;
    for (let i = 0; i < 24; i++) {
      db.run("INSERT INTO items (name, payload) SELECT 'more', randomblob(400) FROM items LIMIT 20");
      db.run("UPDATE items SET name = 'touched' WHERE id = ?", [1 + ((i * 97) % 3000)]);
      last = await manifest();
    }
    db.close();
    // 25 backups; each change alone would add a pack of its own to every later map. Small packs
    // fold once more than 8 are stored: the newest backup references at most those and its own.
    expect(last.stored.packs.length).toBeLessThanOrEqual(10);
    const unchanged = await manifest();
    expect(unchanged.stored.packs.filter((p: any) => p.new)).toEqual([]);
    const to = join(dir, "restored.db");
    const r = await runCli(["restore", "app", "--id", last.id, "--to", to, "--yes"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const restored = new Database(to, { readonly: true });
    expect(restored.query("SELECT count(*) AS n FROM items").get()).toEqual({ n: 3000 + 24 * 20 });
    restored.close();
  });
});
