/**
 * Fault injection for `rotate`, through the compiled binary: kill -9 at each
 * named step of removing backups (the pause hook of src/lib/system/test-pause.ts), and
 * a read-only backup folder. Whatever happens, every listed backup stays whole,
 * nothing the policy keeps is lost, and the next run reaches the planned set.
 */
import { describe, expect, it } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { makeProject, sha256File, sharedFilesOf } from "../helpers/backups.ts";
import { expectAllListedBackupsWhole, expectCleanFailure, expectVerifyAllPasses } from "../helpers/check-backups.ts";
import { fabricateBackups } from "../helpers/fabricate.ts";
import { parseJson } from "../helpers/json.ts";
import { runUntil } from "../helpers/pause.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { AS_NOBODY, handToNobody } from "../helpers/unprivileged.ts";

const POLICY = `timezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 2\nkeep_weekly = 0\nkeep_monthly = 0\n`;

/** One real scheduled backup plus six fabricated daily ones; returns the ids the policy keeps and removes. */
async function project() {
  const p = makeProject({ rows: 100, payloadBytes: 512, toml: POLICY });
  const b = await runCli(["backup", "--kind", "scheduled", "--json"], { cwd: p.dir });
  expect(b.code).toBe(0);
  const days = ["01", "02", "03", "04", "05", "06"].map((d) => ({ at: `2025-01-${d}T10:00:00Z` }));
  fabricateBackups(parseJson(b.stdout).results[0].manifest_path, p.folder, "app", days);
  const plan = parseJson((await runCli(["rotate", "--dry-run", "--json"], { cwd: p.dir })).stdout).results[0];
  const ids = (action: string) =>
    plan.backups
      .filter((x: { action: string }) => x.action === action)
      .map((x: { id: string }) => x.id)
      .sort();
  expect(ids("remove")).toHaveLength(5);
  return { ...p, keep: ids("keep") as string[], remove: ids("remove") as string[], source: sha256File(p.db) };
}

const listedIds = async (dir: string) => (await expectAllListedBackupsWhole(dir, tempDir())).map((b) => b.id).sort();

describe("rotate killed at each step", () => {
  it.each([
    "rotate:manifest-removed@1",
    "rotate:backup-removed@1",
    "rotate:manifest-removed@3",
    "rotate:backup-removed@4",
    "rotate:manifest-removed@5",
  ])("kill -9 at %s: only whole backups listed, nothing kept is lost, the next run finishes", async (step) => {
    const p = await project();
    const run = await runUntil(step, ["rotate"], p.dir);
    await run.kill();
    expect(sha256File(p.db)).toBe(p.source);
    const listed = await listedIds(p.dir);
    for (const id of p.keep) expect(listed).toContain(id);
    for (const id of listed) expect([...p.keep, ...p.remove]).toContain(id);
    expect(listed.length).toBeLessThan(p.keep.length + p.remove.length);
    // No manifest was left without its data: nothing is skipped as broken, and verify passes on all.
    const list = await runCli(["list"], { cwd: p.dir });
    expect(list.stderr).not.toContain("skipped");
    await expectVerifyAllPasses(p.dir);
    // A backup killed between its manifest and its data file left the data as a partial; the next run removes it.
    const next = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(next.code).toBe(0);
    const [result] = parseJson(next.stdout).results;
    if (step.startsWith("rotate:manifest-removed")) expect(result.removed_partials).toHaveLength(1);
    expect(await listedIds(p.dir)).toEqual(p.keep);
    const strays = readdirSync(p.folder).filter(
      (f) =>
        !f.startsWith(".sqlbak-lock") &&
        !p.keep.some((id) => f.startsWith(id)) &&
        !sharedFilesOf(p.folder, p.keep).has(f),
    );
    expect(strays).toEqual([]);
  });
});

describe("rotate on a read-only backup folder", () => {
  it("fails with exit 1 and one clear line, removes nothing, and rotates once the folder is writable", async () => {
    const p = await project();
    handToNobody(p.dir);
    chmodSync(p.dir, 0o755);
    chmodSync(p.folder, 0o555);
    const r = await runCli(["rotate"], { cwd: p.dir, prefix: AS_NOBODY });
    expectCleanFailure(r, 1, /app: rotation failed: cannot take the lock in .*: permission denied/);
    expect(await listedIds(p.dir)).toEqual([...p.keep, ...p.remove].sort());
    // Checksums still verify there (the outcome cannot be recorded: a warning); a decompressing verify cannot run.
    const sums = await runCli(["verify", "--all", "--level", "checksum"], { cwd: p.dir, prefix: AS_NOBODY });
    expect(sums.stderr).toContain("outcome not recorded");
    expect(sums.code).toBe(0);
    expectCleanFailure(
      await runCli(["verify"], { cwd: p.dir, prefix: AS_NOBODY }),
      1,
      /cannot write decompressed copy .*: permission denied/,
    );
    chmodSync(p.folder, 0o700);
    const next = await runCli(["rotate"], { cwd: p.dir, prefix: AS_NOBODY });
    expect(next.code).toBe(0);
    expect(await listedIds(p.dir)).toEqual(p.keep);
    await expectVerifyAllPasses(p.dir, AS_NOBODY);
  });
});

describe("rotate killed between removals, with a dir destination", () => {
  it(`each removal is logged before it happens, \
so the next rotation removes the copy at the destination too`, async () => {
    const p = makeProject({
      toml: `timezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`,
      dbToml: `[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n`,
    });
    mkdirSync(join(p.dir, "nas"));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = await runCli(["backup", "app", "--kind", "scheduled", "--json"], { cwd: p.dir });
      expect(b.code).toBe(0);
      ids.push(parseJson(b.stdout).results[0].id);
    }
    const atNas = () =>
      readdirSync(join(p.dir, "nas", "app"))
        .filter((f) => f.endsWith(".json"))
        .map((f) => f.slice(0, -5))
        .sort();
    expect(atNas()).toEqual([...ids].sort());
    const run = await runUntil("rotate:backup-removed@1", ["rotate"], p.dir);
    await run.kill();
    // The killed run removed one backup locally and never reached the destination.
    const gone = ids.filter((id) => !existsSync(join(p.folder, `${id}.json`)));
    expect(gone).toHaveLength(1);
    expect(atNas()).toEqual([...ids].sort());
    const next = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(next.code).toBe(0);
    const [result] = parseJson(next.stdout).results;
    expect(result.destinations[0]).toMatchObject({ destination: "nas", ok: true, kept_only_copy: [] });
    expect(atNas()).toEqual([ids[2]!]);
  });
});
