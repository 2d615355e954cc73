/** `rotate` and `backup --rotate` through the compiled binary, on fabricated backup sets spread over time. */
import { describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flipByte, sharedFilesOf } from "../helpers/backups.ts";
import { makeDatabase } from "../helpers/db.ts";
import { fabricateBackups } from "../helpers/fabricate.ts";
import { parseJson } from "../helpers/json.ts";
import { runUntil } from "../helpers/pause.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const POLICY =
  `timezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 3\n` +
  "keep_weekly = 0\nkeep_monthly = 0\nkeep_pre_restore = 1\n";

/** A project with `app` (and optionally more [[database]] toml), one real scheduled backup as template. */
async function project(toml = POLICY, extraDbs = "") {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 20 });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n${toml}\n[[database]]\nname = "app"\npath = "app.db"\n${extraDbs}`,
  );
  const b = await runCli(["backup", "app", "--kind", "scheduled", "--json"], { cwd: dir });
  expect(b.code).toBe(0);
  const [result] = parseJson(b.stdout).results;
  return { dir, folder: join(dir, "backups", "app"), template: result as { id: string; manifest_path: string } };
}

/** The fabricated set of the main scenario, with what the policy above must do to each (worked out by hand). */
function fabricateScenario(p: Awaited<ReturnType<typeof project>>) {
  const [d10a, d10b, d9, d8, d7, manual, pre9, pre8] = fabricateBackups(p.template.manifest_path, p.folder, "app", [
    { at: "2025-01-10T10:00:00Z" },
    { at: "2025-01-10T08:00:00Z" },
    { at: "2025-01-09T10:00:00Z" },
    { at: "2025-01-08T10:00:00Z" },
    { at: "2025-01-07T10:00:00Z" },
    { at: "2025-01-01T00:00:00Z", kind: "manual" },
    { at: "2025-01-09T12:00:00Z", kind: "pre-restore" },
    { at: "2025-01-08T12:00:00Z", kind: "pre-restore" },
  ]);
  return {
    keep: [p.template.id, d10a!.id, d9!.id, manual!.id, pre9!.id],
    remove: [d10b!.id, d8!.id, d7!.id, pre8!.id],
    reasons: {
      [d10a!.id]: ["daily 2025-01-10"],
      [d9!.id]: ["daily 2025-01-09"],
      [manual!.id]: ["manual"],
      [pre9!.id]: ["pre-restore 1"],
    },
  };
}

const ids = (entries: { id: string }[]) => entries.map((e) => e.id).sort();

describe("sqlbak rotate", () => {
  it("--dry-run --json plans every backup with reasons and deletes nothing", async () => {
    const p = await project();
    const want = fabricateScenario(p);
    const before = readdirSync(p.folder).sort();
    const r = await runCli(["rotate", "--dry-run", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    const [result, ...rest] = parseJson(r.stdout).results;
    expect(rest).toEqual([]);
    expect(result).toMatchObject({
      database: "app",
      ok: true,
      dry_run: true,
      empty_policy: false,
      time_zone: "UTC",
      removed: [],
    });
    expect(result.policy).toBe("keep last 1, 3 daily; 1 pre-restore; manual and tag keep always");
    const keep = result.backups.filter((b: { action: string }) => b.action === "keep");
    expect(ids(keep)).toEqual([...want.keep].sort());
    expect(ids(result.backups.filter((b: { action: string }) => b.action === "remove"))).toEqual(
      [...want.remove].sort(),
    );
    for (const [id, reasons] of Object.entries(want.reasons))
      expect(result.backups.find((b: { id: string }) => b.id === id).reasons).toEqual(reasons);
    expect(result.backups[0].id).toBe(p.template.id); // newest first
    expect(result.backups[0].reasons[0]).toBe("last 1");
    expect(readdirSync(p.folder).sort()).toEqual(before);
    expect(
      existsSync(join(p.dir, "backups", "sqlbak.log.jsonl")) &&
        readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8"),
    ).not.toContain('"rotate"');

    const table = await runCli(["rotate", "--dry-run"], { cwd: p.dir });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ACTION\s+ID\s+CREATED\s+KIND\s+REASONS\n/);
    expect(table.stdout).toContain("would remove");
    expect(table.stdout).toContain("2025-01-09 12:00:00 +00:00  pre-restore  pre-restore 1");
    expect(table.stderr).toContain("app: kept 5, would remove 4");
  });

  it("removes exactly the planned backups (manifest and data), and list agrees", async () => {
    const p = await project();
    const want = fabricateScenario(p);
    const r = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    const [result] = parseJson(r.stdout).results;
    expect([...result.removed].sort()).toEqual([...want.remove].sort());
    for (const id of want.remove) expect(readdirSync(p.folder).filter((f) => f.startsWith(id))).toEqual([]);
    const list = await runCli(["list", "--json"], { cwd: p.dir });
    expect(ids(parseJson(list.stdout).backups)).toEqual([...want.keep].sort());
    // Nothing else is left behind: every remaining file belongs to a kept backup or is sqlbak's own.
    const stray = readdirSync(p.folder).filter(
      (f) =>
        !want.keep.some((id) => f.startsWith(id)) &&
        !f.startsWith(".sqlbak-lock") &&
        !sharedFilesOf(p.folder, want.keep).has(f),
    );
    expect(stray).toEqual([]);
    const verify = await runCli(["verify", "--all", "--level", "checksum"], { cwd: p.dir });
    expect(verify.code).toBe(0);
    const log = readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(log.filter((e) => e.op === "rotate").at(-1)).toMatchObject({
      op: "rotate",
      database: "app",
      ok: true,
      kept: 5,
      removed: result.removed,
    });
    // Rotating again removes nothing.
    const again = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(parseJson(again.stdout).results[0].removed).toEqual([]);
  });

  it(`cleans up a data file left without its manifest once it is older than an hour \
(a crash mid-removal)`, async () => {
    const p = await project();
    const [orphan, fresh] = fabricateBackups(p.template.manifest_path, p.folder, "app", [
      { at: "2025-01-05T00:00:00Z" },
      { at: new Date(Date.now() - 60_000).toISOString() },
    ]);
    for (const f of [orphan!, fresh!]) Bun.spawnSync(["rm", f.manifest_path]);
    utimesSync(fresh!.data_path, new Date(), new Date());
    const dry = await runCli(["rotate", "--dry-run", "--json"], { cwd: p.dir });
    expect(parseJson(dry.stdout).results[0].removed_partials).toEqual([orphan!.data_path]);
    expect(existsSync(orphan!.data_path)).toBe(true);
    const r = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).results[0].removed_partials).toEqual([orphan!.data_path]);
    expect(existsSync(orphan!.data_path)).toBe(false);
    expect(existsSync(fresh!.data_path)).toBe(true); // could still belong to a running backup
  });

  it("removes nothing under an empty policy and says so", async () => {
    const p = await project(`[retention]\nkeep_last = 0\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`);
    fabricateBackups(p.template.manifest_path, p.folder, "app", [
      { at: "2025-01-01T00:00:00Z" },
      { at: "2024-01-01T00:00:00Z" },
    ]);
    const r = await runCli(["rotate"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "app: the retention policy is empty (every keep_* is 0 and no keep_within*): nothing removed",
    );
    expect(readdirSync(p.folder).filter((f) => f.endsWith(".json") && !f.startsWith("."))).toHaveLength(3);
  });

  it("applies a database's own retention over the global one", async () => {
    const p = await project(POLICY, `retention = { keep_daily = 1 }\n`);
    const want = fabricateScenario(p);
    const r = await runCli(["rotate", "app", "--dry-run", "--json"], { cwd: p.dir });
    const keep = parseJson(r.stdout).results[0].backups.filter((b: { action: string }) => b.action === "keep");
    expect(keep).toHaveLength(want.keep.length - 2); // only today's daily: 2025-01-10 and 2025-01-09 go
  });

  it(`a newer backup that FAILED verification never pushes out the older good one; old evidence goes, \
saying why (issue 14 §6)`, async () => {
    // Bug: with keep_last = 1 the corrupt newest backup took the slot and rotation removed the only good backup.
    const p = await project(
      `timezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`,
    );
    const [gone] = fabricateBackups(p.template.manifest_path, p.folder, "app", [{ at: "2025-01-01T00:00:00Z" }]);
    rmSync(gone!.data_path);
    const b = await runCli(["backup", "app", "--kind", "scheduled", "--json"], { cwd: p.dir });
    expect(b.code).toBe(0);
    const corrupt = parseJson(b.stdout).results[0] as { id: string; data_path: string };
    flipByte(corrupt.data_path, -20);
    expect((await runCli(["verify", corrupt.id], { cwd: p.dir })).code).not.toBe(0);
    const r = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    const [result] = parseJson(r.stdout).results;
    const by = (id: string) => result.backups.find((x: { id: string }) => x.id === id);
    expect(by(p.template.id)).toMatchObject({ action: "keep", reasons: ["last 1"] });
    expect(by(corrupt.id)).toMatchObject({ action: "keep", reasons: ["failed verification (evidence)"] });
    expect(by(gone!.id)).toMatchObject({
      action: "remove",
      removal: `data missing, older than the oldest kept backup ${p.template.id}`,
    });
    expect(result.removed).toEqual([gone!.id]);
    expect(existsSync(p.template.manifest_path)).toBe(true);
    expect(existsSync(corrupt.data_path)).toBe(true);
    expect(existsSync(gone!.manifest_path)).toBe(false);
    const table = await runCli(["rotate", "--dry-run"], { cwd: p.dir });
    expect(table.stdout).toContain("failed verification (evidence)");
  });

  it("exits 2 for a bad retention config or an unknown database", async () => {
    const p = await project();
    writeFileSync(join(p.dir, "bad.toml"), `[retention]\nkeep_daily = -1\nkeep_within = "2 weeks"\n`);
    const bad = await runCli(["rotate", "--config", "bad.toml"], { cwd: p.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("retention.keep_daily: expected a whole number ≥ 0");
    expect(bad.stderr).toContain('retention.keep_within: "2 weeks" is not a retention window');
    const unknown = await runCli(["rotate", "nope"], { cwd: p.dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown database "nope"');
  });
});

describe("sqlbak backup --rotate", () => {
  it("records the backup as scheduled and rotates after a success, never after a failure", async () => {
    const p = await project(
      `timezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`,
      `[[database]]\nname = "broken"\npath = "missing.db"\n`,
    );
    const manual = await runCli(["backup", "app"], { cwd: p.dir });
    expect(manual.code).toBe(0);
    const brokenFolder = join(p.dir, "backups", "broken");
    mkdirSync(brokenFolder, { recursive: true });
    const brokenSet = fabricateBackups(p.template.manifest_path, brokenFolder, "broken", [
      { at: "2025-01-02T00:00:00Z" },
      { at: "2025-01-01T00:00:00Z" },
    ]);

    const r = await runCli(["backup", "--rotate", "--json"], { cwd: p.dir });
    expect(r.code).toBe(1);
    const results = parseJson(r.stdout).results;
    const app = results.find((x: { database: string }) => x.database === "app");
    const broken = results.find((x: { database: string }) => x.database === "broken");
    expect(broken).toMatchObject({ ok: false, rotation: null });
    expect(app.ok).toBe(true);
    expect(app.rotation.removed).toEqual([p.template.id]);
    for (const b of brokenSet) expect(existsSync(b.manifest_path)).toBe(true);

    const list = parseJson((await runCli(["list", "app", "--json"], { cwd: p.dir })).stdout).backups;
    expect(list.map((b: { kind: string }) => b.kind).sort()).toEqual(["manual", "scheduled"]);
    expect(list.find((b: { kind: string }) => b.kind === "scheduled").id).toBe(app.id);
  });

  it(`a future-dated backup (a wrong clock) never makes backup --rotate remove \
the backup it just took or every real one`, async () => {
    // Bug: with keep_last = 1 the copy dated 2099 stayed "newest"; rotation removed the new backup and every real one.
    const p = await project(
      `timezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`,
    );
    const [future] = fabricateBackups(p.template.manifest_path, p.folder, "app", [{ at: "2099-01-01T00:00:00Z" }]);
    const r = await runCli(["backup", "--rotate", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    const [app] = parseJson(r.stdout).results;
    const decisions = Object.fromEntries(
      app.rotation.backups.map((b: { id: string; reasons: string[] }) => [b.id, b.reasons]),
    );
    expect(decisions).toEqual({ [future!.id]: ["future-dated"], [app.id]: ["last 1"], [p.template.id]: [] });
    const list = parseJson((await runCli(["list", "app", "--json"], { cwd: p.dir })).stdout).backups;
    expect(list.map((b: { id: string }) => b.id).sort()).toEqual([app.id, future!.id].sort());
  });

  it("backup --rotate never removes the backup it just took, even when another one looks newer", async () => {
    // A backup dated between this run's start and its rotation (a
    // concurrent run, a clock stepped meanwhile) takes keep_last's slot.
    const p = await project(
      `timezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`,
    );
    const run = await runUntil("backup:data-committed", ["backup", "--rotate", "--json"], p.dir);
    const [other] = fabricateBackups(p.template.manifest_path, p.folder, "app", [{ at: new Date().toISOString() }]);
    const r = await run.resume();
    expect(r.code).toBe(0);
    const [app] = parseJson(r.stdout).results;
    const decisions = Object.fromEntries(
      app.rotation.backups.map((b: { id: string; reasons: string[] }) => [b.id, b.reasons]),
    );
    expect(decisions).toEqual({ [other!.id]: ["last 1"], [app.id]: ["just taken"], [p.template.id]: [] });
    expect(existsSync(join(p.folder, `${app.id}.json`))).toBe(true);
  });

  it("--pin tags the backup keep, and rotation never removes it", async () => {
    const p = await project(`[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`);
    const pinned = await runCli(["backup", "--rotate", "--pin", "--json"], { cwd: p.dir });
    expect(pinned.code).toBe(0);
    const pinnedId = parseJson(pinned.stdout).results[0].id;
    const last = await runCli(["backup", "--rotate", "--json"], { cwd: p.dir });
    expect(parseJson(last.stdout).results[0].rotation.removed).toEqual([]); // the template went in the first run
    const list = parseJson((await runCli(["list", "--json"], { cwd: p.dir })).stdout).backups;
    expect(list.find((b: { id: string }) => b.id === pinnedId)).toMatchObject({ kind: "scheduled", tags: ["keep"] });
    expect(list).toHaveLength(2);
  });

  it("puts the rotated count into the success notification", async () => {
    const bodies: { event: string; rotated?: number }[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => (bodies.push((await req.json()) as (typeof bodies)[number]), new Response("ok")),
    });
    try {
      const p = await project(
        "[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n" +
          `[notify]\non = ["success"]\nwebhook = "http://127.0.0.1:${server.port}/hook"\n`,
      );
      bodies.length = 0; // the template backup's own notification
      const r = await runCli(["backup", "--rotate"], { cwd: p.dir });
      expect(r.code).toBe(0);
      expect(bodies).toMatchObject([{ event: "backup.success", database: "app", rotated: 1 }]);
    } finally {
      server.stop(true);
    }
  });

  it("refuses --rotate with --kind manual", async () => {
    const p = await project();
    const r = await runCli(["backup", "--rotate", "--kind", "manual"], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--rotate records the backup as scheduled; drop --kind manual");
  });
});
