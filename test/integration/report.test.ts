/**
 * The status report from real backups: real databases and backups in a mkdtemp folder, a real
 * failed verification, a `dir` destination in sync and one behind; the report's window decides
 * which backups count as taken and what the growth is measured from.
 */
import { describe, expect, it } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runScheduledBackup } from "../../src/lib/backup/index.ts";
import { NO_KEYS } from "../../src/lib/codec/index.ts";
import { loadConfig, type ResolvedConfig } from "../../src/lib/config/index.ts";
import { gatherReport, type StatusReport } from "../../src/lib/health/index.ts";
import { resolveBackupTargets } from "../../src/lib/store/index.ts";
import { runVerifyJob } from "../../src/lib/verify/index.ts";
import { makeDatabase } from "../helpers/db.ts";
import { tempDir } from "../helpers/tmp.ts";

const DAY_MS = 86_400_000;

function configFor(dir: string, destinations: string[]): ResolvedConfig {
  const dests = destinations.map((d) => `[[destination]]\nname = "${d}"\ntype = "dir"\npath = "${d}"\n`).join("");
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n[[database]]\nname = "app"\npath = "app.db"\n` +
      `[[database]]\nname = "shop"\npath = "shop.db"\n${dests}`,
  );
  return loadConfig({}, { HOME: dir }, dir);
}

async function backup(config: ResolvedConfig, names: string[]) {
  const r = await runScheduledBackup(config, resolveBackupTargets(config, names), {
    kind: "manual",
    tags: [],
    dryRun: false,
  });
  expect(r.backups.every((b) => b.ok)).toBe(true);
  return r.backups;
}

async function verifyLatest(config: ResolvedConfig, name: string) {
  return runVerifyJob(config, {
    target: { name },
    selector: { kind: "latest" },
    level: "quick",
    levelGiven: false,
    keys: NO_KEYS,
    listCommand: "sqlbak list",
    onSkipped: () => {},
  });
}

/**
 * app: backed up, grown, backed up again and restore-tested; shop: backed up once, its backup
 * damaged and verified (FAILED). "nas" has every backup; "late" was added after them (behind).
 */
async function scene() {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 20 });
  makeDatabase(join(dir, "shop.db"), { rows: 20 });
  mkdirSync(join(dir, "nas"));
  mkdirSync(join(dir, "late"));
  let config = configFor(dir, ["nas"]);
  const [first, shop] = await backup(config, ["app", "shop"]);
  await Bun.sleep(20);
  const between = new Date();
  await Bun.sleep(20);
  makeDatabase(join(dir, "app.db"), { rows: 500, payloadBytes: 400 });
  const [second] = await backup(config, ["app"]);
  expect((await verifyLatest(config, "app")).results.every((r) => r.ok)).toBe(true);
  writeFileSync(String(shop!.dataPath), "damaged");
  expect((await verifyLatest(config, "shop")).results.some((r) => !r.ok)).toBe(true);
  config = configFor(dir, ["nas", "late"]);
  return { dir, config, first: first!, second: second!, shop: shop!, between };
}

const dbOf = (r: StatusReport, name: string) => r.facts.databases.find((d) => d.database === name)!;

describe("gatherReport", () => {
  it("reports per database what the window holds: backups taken, growth, restore test, copies, problems", async () => {
    const s = await scene();
    // A one-day window that starts between app's two backups, seen from a day later.
    const now = new Date(s.between.getTime() + DAY_MS);
    const r = await gatherReport(s.config, { days: 1, now });
    expect(r.facts.window).toEqual({ days: 1, from: s.between.toISOString(), to: now.toISOString() });
    const app = dbOf(r, "app");
    expect(app.backups).toEqual({ taken: 1, failed_runs: 0, kept: 2 });
    expect(app.newest).toMatchObject({ id: s.second.id, raw_bytes: s.second.rawSize });
    expect(app.size).toMatchObject({
      raw_bytes: s.second.rawSize,
      raw_bytes_before: s.first.rawSize,
      growth_bytes: s.second.rawSize! - s.first.rawSize!,
      added_bytes: s.second.storedSize,
    });
    expect(app.size.growth_bytes).toBeGreaterThan(0);
    expect(app.last_restore_test).toMatchObject({ id: s.second.id, ok: true, level: "quick" });
    expect(app.verifications).toEqual({ runs: 1, failed: 0 });
    expect(app.destinations.map((d) => [d.destination, d.state, d.missing])).toEqual([
      ["nas", "in sync", 0],
      ["late", "behind", 2],
    ]);
    expect(app.problems).toEqual([expect.stringMatching(/^app @ late: no copies yet \(2 local backups not copied\)/)]);

    const shop = dbOf(r, "shop");
    // shop's only backup was taken before the window: none taken in it, and no growth to measure in it.
    expect(shop.backups).toEqual({ taken: 0, failed_runs: 0, kept: 1 });
    expect(shop.size).toMatchObject({ raw_bytes_before: s.shop.rawSize, growth_bytes: 0, added_bytes: 0 });
    expect(shop.last_verification).toMatchObject({ id: s.shop.id, ok: false });
    expect(shop.last_restore_test).toMatchObject({ id: s.shop.id, ok: false });
    expect(shop.verifications).toEqual({ runs: 1, failed: 1 });
    expect(shop.failures).toEqual([expect.objectContaining({ op: "verify" })]);
    expect(shop.problems.some((p) => p.startsWith("shop: last verification failed"))).toBe(true);

    expect(r.facts.healthy).toBe(false);
    expect(r.facts.problems).toEqual(expect.arrayContaining([...app.problems, ...shop.problems]));
    expect(r.facts.totals).toMatchObject({ databases: 2, backups_taken: 1, added_bytes: s.second.storedSize });
    expect(r.facts.volume!.free_bytes).toBeGreaterThan(0);

    expect(r.title).toBe(`sqlbak report, last 1 days for ${r.facts.host}: ${r.facts.problems.length} problems`);
    expect(r.text.startsWith(`${r.title}\n`)).toBe(true);
    expect(r.text).toMatch(/^app\n {2}backups +1 taken; 2 kept in all$/m);
    expect(r.text).toMatch(/^ {2}restore test +ok \(quick\) .* {2}app-/m);
    expect(r.text).toMatch(/^ {2}destinations +nas: in sync \(2 copies\); late: BEHIND \(2 not copied\)$/m);
    expect(r.text).toMatch(/^ {2}restore test +FAILED \(quick\) .* {2}shop-\S+: /m);
    expect(r.text).toMatch(/^disk: .* free of .*%\)$/m);
    for (const p of r.facts.problems) expect(r.text).toContain(`  - ${p}\n`);
  });

  it("counts both backups in a longer window and measures growth from the first", async () => {
    const s = await scene();
    const r = await gatherReport(s.config, { days: 7, local: true });
    const app = dbOf(r, "app");
    expect(app.backups.taken).toBe(2);
    expect(app.size).toMatchObject({
      raw_bytes_before: s.first.rawSize,
      before_at: expect.any(String),
      added_bytes: s.first.storedSize! + s.second.storedSize!,
    });
    expect(app.destinations).toEqual([]);
    expect(r.title).toStartWith("sqlbak weekly report for ");
    expect(r.facts.totals.backups_taken).toBe(3);
  });
});
