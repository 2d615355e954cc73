/**
 * Rule 4 of incremental backups through the compiled binary: a pack whose
 * latest verification failed, or that is missing or of the wrong size, is
 * never referenced again; the next backup stores its pages again into new
 * packs, and a later good verification makes the pack usable again.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase, queryAll } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function setup() {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 2000, payloadBytes: 400 }); // about 1 MiB: many pages
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\nincremental = true\n[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  return dir;
}

function touchRow(path: string, id: number) {
  const db = new Database(path);
  db.run("UPDATE items SET name = 'renamed' WHERE id = ?", [id]);
  db.close();
}

interface Backup {
  id: string;
  /** The packs its manifest references, as it records them. */
  packs: { name: string; size: number; new?: boolean }[];
}

async function backup(dir: string): Promise<Backup> {
  const r = await runCli(["backup", "--json"], { cwd: dir });
  expect(r.code).toBe(0);
  const { id, manifest_path: manifestPath } = parseJson(r.stdout).results[0];
  return { id, packs: JSON.parse(readFileSync(manifestPath, "utf8")).stored.packs };
}

const packNames = (b: Backup) => b.packs.map((p) => p.name);
const rowsOf = (path: string) => queryAll(path, "SELECT * FROM items ORDER BY id");

/** `restore --to` of backup `id` gives the database's current content. */
async function expectRestores(dir: string, id: string) {
  const to = join(dir, `restored-${id}.db`);
  const r = await runCli(["restore", "app", "--id", id, "--to", to, "--yes"], { cwd: dir });
  expect(r.code).toBe(0);
  expect(rowsOf(to)).toEqual(rowsOf(join(dir, "app.db")));
}

/** Two backups sharing the first one's packs; returns their ids and the first pack, which both reference. */
async function twoBackups(dir: string) {
  const first = await backup(dir);
  touchRow(join(dir, "app.db"), 7);
  const second = await backup(dir);
  const shared = first.packs[0]!;
  expect(packNames(second)).toContain(shared.name);
  return { first: first.id, second: second.id, shared, path: join(dir, "backups", "app", shared.name) };
}

describe("a pack that failed verification", () => {
  it("is not referenced by the next backup, which restores on its own; a later good record makes it usable again", async () => {
    const dir = setup();
    const { first, second, shared, path } = await twoBackups(dir);
    const original = readFileSync(path);
    const damaged = Buffer.from(original);
    damaged[damaged.length >> 1]! ^= 0xff; // same size: only a checksum notices
    writeFileSync(path, damaged);

    const verify = await runCli(["verify", "--all", "--level", "checksum"], { cwd: dir });
    expect(verify.code).toBe(3);
    expect(verify.stderr).toContain(first);
    expect(verify.stderr).toContain(second);
    expect(verify.stderr).toContain(`pack ${shared.name} sha256`);

    const third = await backup(dir);
    expect(packNames(third)).not.toContain(shared.name);
    expect(third.packs.some((p) => p.new)).toBe(true); // the pages are stored again, in new packs
    const full = await runCli(["verify", third.id, "--level", "full"], { cwd: dir });
    expect(full.code).toBe(0);
    await expectRestores(dir, third.id);

    // A repaired file alone does not clear the failed record: the pack stays unused until verified.
    writeFileSync(path, original);
    expect(packNames(await backup(dir))).not.toContain(shared.name);

    const again = await runCli(["verify", first, "--level", "checksum"], { cwd: dir });
    expect(again.code).toBe(0);
    const fourth = await backup(dir);
    expect(packNames(fourth)).toContain(shared.name);
    expect(fourth.packs.filter((p) => p.new)).toEqual([]); // every page found again: nothing stored
    await expectRestores(dir, fourth.id);
  });

  it("stays unused when its newest failed record is in a backup no longer listed", async () => {
    const dir = setup();
    const { first, second, shared, path } = await twoBackups(dir);
    expect((await runCli(["verify", second, "--level", "checksum"], { cwd: dir })).code).toBe(0); // older: good
    const damaged = readFileSync(path);
    damaged[damaged.length >> 1]! ^= 0xff;
    writeFileSync(path, damaged);
    expect((await runCli(["verify", first, "--level", "checksum"], { cwd: dir })).code).toBe(3); // newest: bad
    rmSync(join(dir, "backups", "app", `${first}.map.zst`)); // the first backup is no longer listed
    const third = await backup(dir);
    expect(packNames(third)).not.toContain(shared.name);
    await expectRestores(dir, third.id);
  });
});

// A removed pack already unlists the backups that reference it (the listing rule); a truncated one
// does not where sizes are not checked, so the backup checks each pack's presence and size itself.
describe("a pack missing from the folder or of the wrong size", () => {
  for (const [what, spoil] of [
    ["truncated", (path: string, size: number) => truncateSync(path, size - 1)],
    ["removed", (path: string) => rmSync(path)],
  ] as const) {
    it(`(${what}) is not referenced by the next backup, without any verification`, async () => {
      const dir = setup();
      const { shared, path } = await twoBackups(dir);
      spoil(path, shared.size);
      touchRow(join(dir, "app.db"), 1500);
      const third = await backup(dir);
      expect(packNames(third)).not.toContain(shared.name);
      await expectRestores(dir, third.id);
    });
  }
});
