/**
 * Two-phase freeing at a `dir` destination (src/lib/retention/remote-free.ts), with planted
 * pages backups copied there: a rotation marks what no remaining manifest there names and
 * removes nothing of it; only a rotation at least the partial age later removes what is
 * still unreferenced; a piece named again meanwhile, or while a manifest there cannot be
 * read, is never removed. The clock is the rotation's `now`.
 */
import { describe, expect, it } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/lib/config/load.ts";
import { newBackupId } from "../../src/lib/model/names.ts";
import { runRotations } from "../../src/lib/retention/rotate.ts";
import { folderNames, pagesScenario, plantPagesBackup } from "../helpers/pages.ts";

const NAS = `[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n`;
const MINUTE = 60_000;

function setup() {
  const s = pagesScenario(NAS);
  const nas = join(s.dir, "nas", "app");
  mkdirSync(join(s.dir, "nas"));
  cpSync(s.folder, nas, { recursive: true });
  const config = loadConfig({}, { HOME: s.dir }, s.dir);
  const t0 = Date.now();
  const rotate = async (minutes: number) => {
    const [r] = await runRotations(config, ["app"], { dryRun: false, now: () => new Date(t0 + minutes * MINUTE) });
    expect(r!.ok).toBe(true);
    expect(r!.destinations![0]!.ok).toBe(true);
    return r!.destinations![0]!;
  };
  const marks = () => readdirSync(nas).filter((f) => f.startsWith("free-"));
  const pieces = () => folderNames(nas).filter((f) => f.startsWith("pack-"));
  return { ...s, nas, config, rotate, marks, pieces };
}

describe("freeing at a dir destination: mark, then remove an hour later", () => {
  it(`a rotation marks the unreferenced pieces and removes none; \
one 61 minutes later removes them and retires the mark`, async () => {
    const s = setup();
    const piecesBefore = s.pieces();
    const first = await s.rotate(0);
    expect(first.removed).toEqual([s.old.id]);
    expect(first.freed).toEqual([]);
    const unreferenced = [...s.toFree, s.fresh.pack, s.fresh.index].sort();
    expect([...first.marked].sort()).toEqual(unreferenced);
    expect(s.pieces()).toEqual(piecesBefore);
    expect(s.marks()).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(s.nas, s.marks()[0]!), "utf8")).pieces.sort()).toEqual(unreferenced);
    // The listing ignores a mark: it is neither a backup nor a problem there.
    expect(existsSync(join(s.nas, s.kept.manifest))).toBe(true);

    const early = await s.rotate(59);
    expect([early.freed, early.marked]).toEqual([[], []]);
    expect(s.pieces()).toEqual(piecesBefore);
    expect(s.marks()).toHaveLength(1);

    const late = await s.rotate(61);
    expect([...late.freed].sort()).toEqual(unreferenced);
    expect(late.freed_bytes).toBe(s.freeBytes + s.fresh.bytes);
    expect(s.pieces()).toEqual([s.shared.pack, s.shared.index, s.only2.pack, s.only2.index].sort());
    expect(s.marks()).toEqual([]);
    expect(folderNames(s.nas)).toEqual(folderNames(s.folder).filter((f) => f !== "sqlbak.log.jsonl"));
  });

  it("a marked piece a manifest names again before the hour is up is kept, and its mark retired", async () => {
    const s = setup();
    await s.rotate(0);
    // A sync elsewhere published a backup naming the leftover pack (found there, so not uploaded again).
    plantPagesBackup(s.nas, "app", new Date("2025-01-03T10:00:00Z"), [s.leftover], "manual");
    const late = await s.rotate(61);
    expect(late.freed).not.toContain(s.leftover.pack);
    expect(late.freed).not.toContain(s.leftover.index);
    expect(late.freed).toContain(s.only1.pack);
    for (const f of [s.leftover.pack, s.leftover.index]) expect(existsSync(join(s.nas, f))).toBe(true);
    expect(s.marks()).toEqual([]);
  });

  it("marks and removes nothing while a manifest there cannot be read; reports the pieces held", async () => {
    const s = setup();
    await s.rotate(0);
    const bad = join(s.nas, `${newBackupId("app", new Date("2025-01-03T00:00:00Z"))}.json`);
    writeFileSync(bad, "{ not json");
    const late = await s.rotate(61);
    expect([late.freed, late.marked]).toEqual([[], []]);
    expect([...late.pieces_held].sort()).toEqual([...s.toFree, s.fresh.pack, s.fresh.index].sort());
    for (const f of s.toFree) expect(existsSync(join(s.nas, f))).toBe(true);
    expect(s.marks()).toHaveLength(1);
  });

  it("a dry run reports what it would mark, and writes no mark", async () => {
    const s = setup();
    const [r] = await runRotations(s.config, ["app"], { dryRun: true });
    const d = r!.destinations![0]!;
    expect([...d.marked].sort()).toEqual([...s.toFree, s.fresh.pack, s.fresh.index].sort());
    expect(d.freed).toEqual([]);
    expect(s.marks()).toEqual([]);
    expect(existsSync(join(s.nas, s.old.manifest))).toBe(true);
  });
});
