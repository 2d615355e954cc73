/**
 * Freeing the pieces of pages backups through the compiled binary, on planted pages backups
 * (test/helpers/pages.ts) in a real backup_dir: `rotate` frees the packs (and indexes) that
 * no remaining manifest names once they are stale, never a piece a kept backup names, a
 * fresh one, or anything while a manifest cannot be read; `backup` frees stale leftovers.
 */
import { describe, expect, it } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newBackupId } from "../../src/lib/model/names.ts";
import { makeProject } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { folderNames, PAGES_POLICY as POLICY, pagesScenario, plantPack, plantPagesBackup } from "../helpers/pages.ts";
import { runCli } from "../helpers/run-cli.ts";

const rotateJson = async (dir: string, extra: string[] = []) => {
  const r = await runCli(["rotate", "--json", ...extra], { cwd: dir });
  expect(r.code).toBe(0);
  return parseJson(r.stdout).results[0];
};

describe("rotate frees the pieces no remaining backup names", () => {
  it(`removes the old backup, frees the pack only it named and a stale leftover; \
keeps the shared, the kept backup's and a fresh pack; logs each`, async () => {
    const s = pagesScenario();
    const r = await runCli(["rotate"], { cwd: s.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`freed 4 unreferenced pack files`);
    expect(folderNames(s.folder)).toEqual(s.after);
    const log = readFileSync(join(s.dir, "backups", "sqlbak.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const frees = log.filter((e) => e.op === "free");
    expect(frees.map((e) => e.file).sort()).toEqual(s.toFree);
    for (const e of frees) expect(e).toMatchObject({ by: "rotate", database: "app", ok: true });
    const summary = log.find((e) => e.op === "rotate");
    expect(summary.removed).toEqual([s.old.id]);
    expect(summary.freed.sort()).toEqual(s.toFree);
    expect(summary.freed_bytes).toBe(s.freeBytes);
  });

  it("--json reports what was freed and its bytes, indexes before their packs", async () => {
    const s = pagesScenario();
    const result = await rotateJson(s.dir);
    expect(result.removed).toEqual([s.old.id]);
    const freed = result.freed.map((p: { name: string }) => p.name);
    expect([...freed].sort()).toEqual(s.toFree);
    expect(freed.indexOf(s.only1.index)).toBeLessThan(freed.indexOf(s.only1.pack));
    expect(result.freed_bytes).toBe(s.freeBytes);
    expect(result.pieces_held).toEqual([]);
    expect(folderNames(s.folder)).toEqual(s.after);
    // Nothing more to free: a second run frees nothing and keeps the rest.
    const again = await rotateJson(s.dir);
    expect([again.removed, again.freed, again.freed_bytes]).toEqual([[], [], 0]);
    expect(folderNames(s.folder)).toEqual(s.after);
  });

  it("--dry-run lists what would be freed (including what the removals would leave unnamed), removes nothing", async () => {
    const s = pagesScenario();
    const dry = await rotateJson(s.dir, ["--dry-run"]);
    expect(dry.freed.map((p: { name: string }) => p.name).sort()).toEqual(s.toFree);
    expect(dry.freed_bytes).toBe(s.freeBytes);
    expect(folderNames(s.folder)).toEqual(s.before);
    const human = await runCli(["rotate", "--dry-run"], { cwd: s.dir });
    expect(human.stderr).toContain("would free 4 unreferenced pack files");
    expect(folderNames(s.folder)).toEqual(s.before);
  });

  it("frees nothing while a manifest cannot be read, says so, and frees once it is gone", async () => {
    const s = pagesScenario();
    const bad = `${newBackupId("app", new Date("2025-01-03T00:00:00Z"))}.json`;
    writeFileSync(join(s.folder, bad), "{ not json");
    const r = await runCli(["rotate", "--json"], { cwd: s.dir });
    expect(r.code).toBe(0);
    const [result] = parseJson(r.stdout).results;
    expect(result.removed).toEqual([s.old.id]);
    expect(result.freed).toEqual([]);
    expect(result.skipped).toHaveLength(1);
    const held = result.pieces_held.map((p: { name: string }) => p.name).sort();
    expect(held).toEqual([...s.toFree, s.fresh.pack, s.fresh.index].sort());
    expect(r.stderr).toContain("kept 6 pack files no readable manifest references");
    for (const name of s.toFree) expect(existsSync(join(s.folder, name))).toBe(true);
    rmSync(join(s.folder, bad));
    const next = await rotateJson(s.dir);
    expect(next.freed.map((p: { name: string }) => p.name).sort()).toEqual(s.toFree);
    expect(folderNames(s.folder)).toEqual(s.after);
  });

  it("a pack removed backups named stays while its name is younger than the partial age", async () => {
    const s = pagesScenario();
    // A backup from a minute ago, removed by keep_last = 1 once a newer one exists: its pack is fresh.
    const recent = plantPack(s.folder, new Date(Date.now() - 60_000));
    const b = plantPagesBackup(s.folder, "app", new Date(Date.now() - 60_000), [recent]);
    plantPagesBackup(s.folder, "app", new Date(Date.now() - 30_000), [s.shared]);
    const result = await rotateJson(s.dir);
    expect(result.removed).toContain(b.id);
    expect(existsSync(join(s.folder, recent.pack))).toBe(true);
    expect(existsSync(join(s.folder, recent.index))).toBe(true);
    expect(result.freed.map((p: { name: string }) => p.name)).not.toContain(recent.pack);
  });
});

describe("backup frees stale unreferenced pieces with its stale partials", () => {
  it("frees a stale leftover pack and its index, keeps a fresh one; nothing while a manifest is unreadable", async () => {
    const p = makeProject({ toml: POLICY });
    const leftover = plantPack(p.folder, new Date("2024-12-01T00:00:00Z"));
    const fresh = plantPack(p.folder, new Date());
    const bad = join(p.folder, `${newBackupId("app", new Date("2025-01-03T00:00:00Z"))}.json`);
    writeFileSync(bad, "{ not json");
    const held = await runCli(["backup", "app", "--json"], { cwd: p.dir });
    expect(held.code).toBe(0);
    expect(parseJson(held.stdout).results[0].removed_partials).toEqual([]);
    expect(existsSync(join(p.folder, leftover.pack))).toBe(true);
    rmSync(bad);
    const r = await runCli(["backup", "app", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).results[0].removed_partials.sort()).toEqual(
      [join(p.folder, leftover.index), join(p.folder, leftover.pack)].sort(),
    );
    for (const f of [leftover.pack, leftover.index]) expect(existsSync(join(p.folder, f))).toBe(false);
    for (const f of [fresh.pack, fresh.index]) expect(existsSync(join(p.folder, f))).toBe(true);
    // Each removal is in the operation log, so a kill mid-sweep leaves a record.
    const frees = readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.op === "free");
    expect(frees.map((e) => e.file).sort()).toEqual([leftover.index, leftover.pack].sort());
    for (const e of frees) expect(e).toMatchObject({ by: "backup", database: "app" });
  });
});

describe("rotate with a dir destination", () => {
  it("marks the pieces no manifest there names instead of removing them, and says so", async () => {
    const s = pagesScenario(`[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n`);
    const nas = join(s.dir, "nas", "app");
    mkdirSync(join(s.dir, "nas"));
    cpSync(s.folder, nas, { recursive: true });
    const r = await runCli(["rotate", "--json"], { cwd: s.dir });
    expect(r.code).toBe(0);
    const [d] = parseJson(r.stdout).results[0].destinations;
    expect(d).toMatchObject({ destination: "nas", ok: true, removed: [s.old.id], freed: [], freed_bytes: 0 });
    expect([...d.marked].sort()).toEqual([...s.toFree, s.fresh.pack, s.fresh.index].sort());
    for (const f of s.toFree) expect(existsSync(join(nas, f))).toBe(true);
    expect(readdirSync(nas).filter((f) => f.startsWith("free-"))).toHaveLength(1);
    const human = await runCli(["rotate"], { cwd: s.dir });
    expect(human.code).toBe(0);
    // Everything unnamed there is marked already: nothing new to mark, nothing old enough to remove.
    expect(human.stderr).not.toContain("marked");
    expect(human.stderr).toContain("app @ nas: kept 1, removed 0");
  });
});
