/**
 * `verify --random` also covers stored packs, through the compiled binary with
 * `incremental = true`: each run checks the K least recently checked packs
 * (K = ceil(packs / runs per verify_max_age)) beyond those of the backup it
 * picks, and records a pack record (`packs_checked`) on the newest backup
 * referencing each. Repeated runs check every pack; a damaged pack that no
 * picked backup references fails every backup that references it (exit 3).
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

/** verify daily, every pack due within `maxAge`: runs = floor(maxAge / 1d), so K = ceil(packs / runs). */
function setup(maxAge: string): string {
  const dir = tempDir();
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\ntimezone = "UTC"\nincremental = true\nverify_max_age = "${maxAge}"\n` +
      `[retention]\nkeep_last = 50\n[schedule]\nverify = "0 3 * * *"\n` +
      `[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  const db = new Database(join(dir, "app.db"));
  db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  db.close();
  return dir;
}

/** Appends rows of random bytes: new pages, so the next backup writes a new pack. */
function addRows(dir: string, from: number, count: number) {
  const db = new Database(join(dir, "app.db"));
  db.run(
    "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) " +
      "INSERT INTO t SELECT i, randomblob(1000) FROM n",
    [from, from + count - 1],
  );
  db.close();
}

/** Every row replaced and the file rebuilt: the next backup shares no page with the ones before. */
function replaceRows(dir: string, from: number, count: number) {
  const db = new Database(join(dir, "app.db"));
  db.run("DELETE FROM t");
  db.close();
  addRows(dir, from, count);
  const vac = new Database(join(dir, "app.db"));
  vac.run("VACUUM");
  vac.close();
}

async function backup(dir: string): Promise<string> {
  const r = await runCli(["backup", "app", "--json"], { cwd: dir });
  expect(r.code).toBe(0);
  return parseJson(r.stdout).results[0].id;
}

interface Record_ {
  at: string;
  ok: boolean;
  bad_packs?: string[];
  packs_checked?: string[];
}
interface ManifestJson {
  id: string;
  stored: { packs: { name: string }[] };
  verifications: Record_[];
}
interface Listed {
  id: string;
  manifest: string;
  verified_state: string;
  bad_packs: string[];
}

async function manifests(dir: string): Promise<{ listed: Listed[]; ms: ManifestJson[] }> {
  const listed: Listed[] = parseJson((await runCli(["list", "--json"], { cwd: dir })).stdout).backups;
  return { listed, ms: listed.map((b) => JSON.parse(readFileSync(b.manifest, "utf8"))) };
}

/** Every pack some record checked: a pack record's packs_checked, or all packs of a record with bad_packs alone. */
function checkedPacks(ms: ManifestJson[]): Set<string> {
  const out = new Set<string>();
  for (const m of ms)
    for (const v of m.verifications) {
      if (!v.bad_packs) continue;
      for (const p of v.packs_checked ?? m.stored.packs.map((x) => x.name)) out.add(p);
    }
  return out;
}

/** The packs named by pack records (packs_checked), one entry per time checked. */
const packRecordChecks = (ms: ManifestJson[]) =>
  ms.flatMap((m) => m.verifications.flatMap((v) => v.packs_checked ?? []));

function flipByte(path: string) {
  const bytes = readFileSync(path);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(path, bytes);
}

describe("verify --random covers stored packs", () => {
  it("checks K packs per run beyond the picked backup's, so within ceil(packs / K) runs every pack was checked", async () => {
    const dir = setup("4d"); // daily verify, 4 days: K = ceil(packs / 4)
    // Each backup in its own pack: a picked backup covers one pack, the run's K others.
    for (let i = 0; i < 8; i++) {
      replaceRows(dir, i * 1000 + 1, 100);
      await backup(dir);
    }
    const before = await manifests(dir);
    const packs = new Set(before.ms.flatMap((m) => m.stored.packs.map((p) => p.name)));
    expect(packs.size).toBeGreaterThanOrEqual(8);
    expect(checkedPacks(before.ms).size).toBe(0);
    const k = Math.ceil(packs.size / 4);
    const runs = Math.ceil(packs.size / k);

    for (let run = 0; run < runs; run++) {
      const r = await runCli(["verify", "--random", "1", "--level", "checksum"], { cwd: dir });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`app: checked ${k} of ${packs.size} packs (checksum)`);
      const { ms } = await manifests(dir);
      // Each run adds K pack-record checks, never checking a pack twice before every pack was checked.
      const checks = packRecordChecks(ms);
      expect(checks).toHaveLength((run + 1) * k);
      if (checkedPacks(ms).size < packs.size) expect(new Set(checks).size).toBe(checks.length);
    }
    const after = await manifests(dir);
    expect([...checkedPacks(after.ms)].sort()).toEqual([...packs].sort());
    // A pack record is not the backup's own verification: backups never picked still read "never".
    const picked = new Set(after.ms.filter((m) => m.verifications.some((v) => !v.packs_checked)).map((m) => m.id));
    for (const b of after.listed) expect(b.verified_state).toBe(picked.has(b.id) ? "ok" : "never");
  }, 120_000);

  it("finds a flipped byte in an old pack no picked backup references and names every backup that references it", async () => {
    const dir = setup("2d"); // K = ceil(packs / 2)
    addRows(dir, 1, 200);
    const first = await backup(dir);
    addRows(dir, 1001, 50);
    const second = await backup(dir);
    replaceRows(dir, 5001, 150); // later backups share no page with the first two
    const third = await backup(dir);
    addRows(dir, 6001, 20);
    const fourth = await backup(dir);

    const { listed, ms } = await manifests(dir);
    const packsOf = (id: string) => ms.find((m) => m.id === id)!.stored.packs.map((p) => p.name);
    const old = packsOf(first)[0]!;
    expect(packsOf(second)).toContain(old);
    expect(packsOf(third)).not.toContain(old);
    expect(packsOf(fourth)).not.toContain(old);

    // The three older backups verified (pack intact): --random then picks the never-verified fourth.
    for (const id of [first, second, third])
      expect((await runCli(["verify", id, "--level", "checksum"], { cwd: dir })).code).toBe(0);
    flipByte(join(dir, "backups", "app", old));

    const r = await runCli(["verify", "--random", "1", "--level", "checksum"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${fourth}: ok (checksum`);
    expect(r.stderr).toMatch(new RegExp(`app: checked \\d+ of \\d+ packs \\(checksum\\), 1 FAILED: ${old}`));
    for (const id of [first, second])
      expect(r.stderr).toMatch(new RegExp(`${id}: FAILED checksum verification: pack ${old}`));
    expect(r.stderr).not.toContain(`${third}: FAILED`);

    // The record sits on the newest backup referencing the pack; list derives FAILED for both.
    const rec = JSON.parse(readFileSync(listed.find((b) => b.id === second)!.manifest, "utf8")).verifications.at(-1);
    expect(rec).toMatchObject({ level: "checksum", ok: false, bad_packs: [old] });
    expect(rec.packs_checked).toContain(old);
    const after: Listed[] = parseJson((await runCli(["list", "--json"], { cwd: dir })).stdout).backups;
    expect(after.map((b) => [b.id, b.verified_state, b.bad_packs])).toEqual([
      [first, "failed", [old]],
      [second, "failed", [old]],
      [third, "ok", []],
      [fourth, "ok", []],
    ]);
    expect((await runCli(["stats", "--check"], { cwd: dir })).code).toBe(3);
  }, 120_000);
});
