/**
 * Fault injection for freeing the pieces of pages backups: kill -9 `rotate` between removing
 * a backup's manifest and freeing its packs, and between two freed pieces (the pause hook of
 * src/lib/system/test-pause.ts). Every listed backup keeps all it names, and the next rotate
 * frees exactly the leftovers.
 */
import { describe, expect, it } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { listBackups } from "../../src/lib/store/list.ts";
import { listFolder } from "../../src/lib/store/local.ts";
import { openLocalFolder } from "../../src/lib/store/local-folder.ts";
import { parseJson } from "../helpers/json.ts";
import { folderNames, pagesScenario } from "../helpers/pages.ts";
import { runUntil } from "../helpers/pause.ts";
import { runCli } from "../helpers/run-cli.ts";

/** Every listed backup is whole (the listing lists a pages backup only with its map and every pack) and only `kept`. */
async function expectOnlyKeptListed(s: ReturnType<typeof pagesScenario>) {
  const listing = await listFolder(join(s.dir, "backups"), "app");
  expect(listing.problems).toEqual([]);
  expect(listing.backups.map((b) => b.manifest.id)).toEqual([s.kept.id]);
  for (const f of [s.kept.map, s.shared.pack, s.only2.pack, s.shared.index, s.only2.index])
    expect(existsSync(join(s.folder, f))).toBe(true);
}

describe("rotate killed while freeing pieces", () => {
  it.each([
    ["rotate:manifest-removed@1", 4],
    ["rotate:pieces-freeing", 4],
    ["rotate:piece-freed@1", 3],
    ["rotate:piece-freed@3", 1],
  ])("kill -9 at %s: the kept backup stays whole, the next rotate frees the %d left", async (step, left) => {
    const s = pagesScenario();
    const run = await runUntil(step, ["rotate"], s.dir);
    await run.kill();
    await expectOnlyKeptListed(s);
    const stillThere = s.toFree.filter((f) => existsSync(join(s.folder, f)));
    expect(stillThere).toHaveLength(left);
    const next = await runCli(["rotate", "--json"], { cwd: s.dir });
    expect(next.code).toBe(0);
    const [result] = parseJson(next.stdout).results;
    expect(result.removed).toEqual([]);
    expect(result.freed.map((p: { name: string }) => p.name).sort()).toEqual(stillThere.sort());
    // Killed between manifest and map: the map is a partial, swept by the same run.
    if (step.startsWith("rotate:manifest-removed"))
      expect(result.removed_partials).toEqual([join(s.folder, s.old.map)]);
    expect(folderNames(s.folder)).toEqual(s.after);
    await expectOnlyKeptListed(s);
  });
});

describe("rotate killed while removing marked pieces at a dir destination", () => {
  it("kill -9 after the first removal there: the kept copy stays whole, the next rotate finishes", async () => {
    const s = pagesScenario(`[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n`);
    const nasRoot = join(s.dir, "nas");
    const nas = join(nasRoot, "app");
    mkdirSync(nasRoot);
    cpSync(s.folder, nas, { recursive: true });
    expect((await runCli(["rotate"], { cwd: s.dir })).code).toBe(0);
    // The mark written by that rotation, made two hours old (as if written by an earlier run).
    const [mark] = readdirSync(nas).filter((f) => f.startsWith("free-"));
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000).toISOString().replace(/[-:.]/g, "");
    renameSync(join(nas, mark!), join(nas, mark!.replace(/^free-\d{8}T\d{9}Z/, `free-${twoHoursAgo}`)));
    const run = await runUntil("rotate:remote-piece-freed@1", ["rotate"], s.dir);
    await run.kill();
    const whole = async () => {
      const listing = await listBackups(openLocalFolder(nasRoot, "destination"), "app");
      expect(listing.problems).toEqual([]);
      expect(listing.backups.map((b) => b.manifest.id)).toEqual([s.kept.id]);
    };
    await whole();
    expect(s.toFree.filter((f) => existsSync(join(nas, f)))).toHaveLength(s.toFree.length - 1);
    const next = await runCli(["rotate", "--json"], { cwd: s.dir });
    expect(next.code).toBe(0);
    expect(parseJson(next.stdout).results[0].destinations[0].freed).toHaveLength(s.toFree.length - 1);
    await whole();
    expect(s.toFree.filter((f) => existsSync(join(nas, f)))).toEqual([]);
    // The fresh pack is marked but its name is younger than the partial age: kept, and so is its mark.
    for (const f of [s.fresh.pack, s.fresh.index]) expect(existsSync(join(nas, f))).toBe(true);
    expect(readdirSync(nas).filter((f) => f.startsWith("free-"))).toHaveLength(1);
  });
});
