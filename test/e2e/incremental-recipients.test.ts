/**
 * Incremental backups encrypted to recipients, with no identity on the backup
 * host, through the compiled binary: pack indexes are sealed under a key
 * derived from the id key (`<stem>.idx.sealed`), so the second backup of a
 * barely changed database finds its pages with the id key alone and adds
 * little; restore and verify still need (and work with) the identity.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateIdentity } from "../../src/age/index.ts";
import { PACK_INDEX_RE } from "../../src/lib/model/index.ts";
import { decodePackIndex, indexKey, LOCAL_ID_KEY_FILE, openSealed } from "../../src/lib/pages/index.ts";
import { makeDatabase, queryAll } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const content = (path: string) =>
  queryAll(path, "SELECT id, name, hex(payload) AS p FROM items ORDER BY id") as Record<string, unknown>[];

describe("incremental backups with recipients only", () => {
  it("dedup with the id key alone: the second backup adds little; indexes are sealed; verify and restore with the identity", async () => {
    const dir = tempDir();
    const db = join(dir, "app.db");
    makeDatabase(db, { rows: 2000, payloadBytes: 400 });
    const id = generateIdentity();
    const keyFile = join(dir, "key.txt"); // only verify and restore are given it
    writeFileSync(keyFile, `${id.identity}\n`);
    writeFileSync(
      join(dir, "sqlbak.toml"),
      `backup_dir = "backups"\nincremental = true\n[encryption]\nrecipients = ["${id.recipient}"]\n\n` +
        `[[database]]\nname = "app"\npath = "app.db"\n`,
    );
    const run = (args: string[]) => runCli(args, { cwd: dir, env: { SQLBAK_AGE_IDENTITY: undefined } });

    expect((await run(["backup"])).code).toBe(0);
    const u = new Database(db);
    u.run("UPDATE items SET name = 'renamed' WHERE id = 7");
    u.close();
    const second = await run(["backup"]);
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain("new id key");
    const live = content(db);

    const list = await run(["list", "--json"]);
    expect(list.code).toBe(0);
    const [a1, a2] = parseJson(list.stdout).backups.map((b: { added_bytes: number }) => b.added_bytes);
    expect(a1).toBeGreaterThan(50_000);
    expect(a2 * 20).toBeLessThan(a1); // only the touched pages: the first backup's indexes were read

    // The indexes are sealed: not a plain index, opened only with the key derived from the id key.
    const folder = join(dir, "backups", "app");
    const indexes = readdirSync(folder).filter((n) => PACK_INDEX_RE.test(n));
    expect(indexes.length).toBeGreaterThanOrEqual(2);
    const idKey = new Uint8Array(readFileSync(join(folder, LOCAL_ID_KEY_FILE)));
    for (const name of indexes) {
      expect(name).toEndWith(".idx.sealed");
      const bytes = new Uint8Array(readFileSync(join(folder, name)));
      expect(() => decodePackIndex(bytes, name)).toThrow();
      expect(decodePackIndex(openSealed(indexKey(idKey), bytes), name).ids.length).toBeGreaterThan(0);
    }

    const verified = await run(["verify", "--all", "--level", "full", "--identity", keyFile]);
    expect(verified.code).toBe(0);
    expect(verified.stderr).not.toContain("FAILED");
    const copy = join(dir, "restored.db");
    const restored = await run(["restore", "app", "--latest", "--to", copy, "--yes", "--identity", keyFile]);
    expect(restored.code).toBe(0);
    expect(content(copy)).toEqual(live);
  }, 60_000);
});
