/**
 * Incremental backups through every command an administrator runs on them,
 * with the compiled binary: backups copied to a dir destination, verified at
 * every level locally and at the destination, restored over the live database
 * and, with an empty backup_dir, restored from the destination alone.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase, queryAll } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const TOML = `backup_dir = "backups"
incremental = true
[[destination]]
name = "nas"
type = "dir"
path = "nas"
[[database]]
name = "app"
path = "app.db"
`;

const content = (path: string) =>
  queryAll(path, "SELECT id, name, hex(payload) AS p FROM items ORDER BY id") as Record<string, unknown>[];

function update(path: string, sql: string) {
  const db = new Database(path);
  db.run(sql);
  db.close();
}

describe("incremental backups end to end", () => {
  it("copy, verify locally and at the destination, restore locally and from the destination alone", async () => {
    const dir = tempDir();
    const db = join(dir, "app.db");
    makeDatabase(db, { rows: 2000, payloadBytes: 400 });
    writeFileSync(join(dir, "sqlbak.toml"), TOML);
    mkdirSync(join(dir, "nas")); // a dir destination must exist: sqlbak never creates a missing mount point
    const run = (args: string[]) => runCli(args, { cwd: dir });

    expect((await run(["backup"])).code).toBe(0);
    const first = content(db);
    update(db, "UPDATE items SET name = 'second' WHERE id <= 20");
    const taken = await run(["backup", "--json"]);
    expect(taken.code).toBe(0);
    const second = content(db);
    const [{ id: newest }] = parseJson(taken.stdout).results;

    for (const level of ["checksum", "quick", "full"]) {
      const v = await run(["verify", "--all", "--level", level]);
      expect(v.code).toBe(0);
      expect(v.stderr).not.toContain("FAILED");
    }
    const remote = await run(["verify", "--all", "--from", "nas", "--level", "full"]);
    expect(remote.code).toBe(0);
    expect(remote.stderr).not.toContain("FAILED");

    // Over the live database: the newest backup's content, and a pre-restore copy of what was there.
    update(db, "DELETE FROM items WHERE id > 100");
    const restored = await run(["restore", "app", "--latest", "--yes"]);
    expect(restored.code).toBe(0);
    expect(content(db)).toEqual(second);

    // No local state at all: the destination alone restores the older backup.
    const listed = parseJson((await run(["list", "--from", "nas", "--json"])).stdout).backups as { id: string }[];
    const older = listed.find((b) => b.id !== newest)!.id;
    const copy = join(dir, "from-nas.db");
    const fromNas = await runCli(
      ["restore", "app", "--id", older, "--from", "nas", "--to", copy, "--yes", "--backup-dir", join(dir, "empty")],
      { cwd: dir },
    );
    expect(fromNas.code).toBe(0);
    expect(content(copy)).toEqual(first);
  });
});
