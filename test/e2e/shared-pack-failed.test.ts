/**
 * A pack shared by several incremental backups that fails verification of one
 * of them fails every backup that references it, through the compiled binary:
 * `list`, `stats` and `stats --check` derive it from the newest verification
 * record naming the pack (no other manifest is rewritten), and rotation never
 * lets such a backup fill a keep slot.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const RETENTION = "[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n";

function writeConfig(dir: string, incremental: boolean) {
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\ntimezone = "UTC"\nincremental = ${incremental}\n${RETENTION}` +
      `[[database]]\nname = "app"\npath = "app.db"\n`,
  );
}

/** One row updated, so the next backup shares every other page (and so the first pack) with the previous one. */
function touchOneRow(path: string, name: string) {
  const db = new Database(path);
  db.run("UPDATE items SET name = ? WHERE id = 7", [name]);
  db.close();
}

async function backup(dir: string): Promise<{ id: string }> {
  const r = await runCli(["backup", "app", "--kind", "scheduled", "--json"], { cwd: dir });
  expect(r.code).toBe(0);
  return parseJson(r.stdout).results[0];
}

interface Listed {
  id: string;
  manifest: string;
  verified_state: string;
  failed_reason: string | null;
  bad_packs: string[];
}

const packsOf = (manifestPath: string): string[] =>
  JSON.parse(readFileSync(manifestPath, "utf8")).stored.packs.map((p: { name: string }) => p.name);

/** Flips one byte in the middle of a stored file. */
function flipByte(path: string) {
  const bytes = readFileSync(path);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(path, bytes);
}

describe("a corrupt pack shared by incremental backups", () => {
  it("fails both backups in list and stats --check after verifying only the newest, and rotation keeps neither in a slot", async () => {
    const dir = tempDir();
    const db = join(dir, "app.db");
    makeDatabase(db, { rows: 2000, payloadBytes: 400 }); // about 1 MiB: many pages
    // A self-contained backup first: the one good backup the policy can keep.
    writeConfig(dir, false);
    const full = await backup(dir);
    writeConfig(dir, true);
    touchOneRow(db, "first");
    const older = await backup(dir);
    touchOneRow(db, "second");
    const newer = await backup(dir);

    const listed: Listed[] = parseJson((await runCli(["list", "--json"], { cwd: dir })).stdout).backups;
    expect(listed.map((b) => b.id)).toEqual([full.id, older.id, newer.id]);
    expect(listed.map((b) => b.verified_state)).toEqual(["never", "never", "never"]);
    const [olderPacks, newerPacks] = [packsOf(listed[1]!.manifest), packsOf(listed[2]!.manifest)];
    const shared = olderPacks.find((p) => newerPacks.includes(p))!;
    expect(shared).toBeDefined();
    const olderManifest = readFileSync(listed[1]!.manifest, "utf8");

    flipByte(join(dir, "backups", "app", shared));
    const verify = await runCli(["verify", newer.id, "--level", "checksum"], { cwd: dir });
    expect(verify.code).toBe(3);
    // Only the newest was verified: the older manifest is untouched, its failure is derived.
    expect(readFileSync(listed[1]!.manifest, "utf8")).toBe(olderManifest);
    const at = JSON.parse(readFileSync(listed[2]!.manifest, "utf8")).verifications.at(-1).at;

    const after: Listed[] = parseJson((await runCli(["list", "--json"], { cwd: dir })).stdout).backups;
    expect(after.map((b) => [b.id, b.verified_state, b.bad_packs])).toEqual([
      [full.id, "never", []],
      [older.id, "failed", [shared]],
      [newer.id, "failed", [shared]],
    ]);
    expect(after[1]!.failed_reason).toBe(`pack ${shared} failed verification of ${newer.id} at ${at}`);
    expect(after[2]!.failed_reason).toContain(`pack ${shared}`);
    const table = (await runCli(["list"], { cwd: dir })).stdout;
    expect(table.split("\n").find((l) => l.startsWith(older.id))).toMatch(/FAILED .* \(pack\)/);

    const check = await runCli(["stats", "--check"], { cwd: dir });
    expect(check.code).toBe(3);
    const lines = check.stdout.trim().split("\n");
    const own = lines.filter((l) => l.startsWith(`app: last verification failed (${newer.id}, `));
    expect(own).toHaveLength(1);
    expect(own[0]).toContain(`pack ${shared}`);
    expect(lines).toContain(
      `app: backup ${older.id}: FAILED: pack ${shared} failed verification of ${newer.id} at ${at}`,
    );

    const stats = parseJson((await runCli(["stats", "--json"], { cwd: dir })).stdout);
    const failed = stats.databases[0].failed_backups;
    expect(failed.map((f: { id: string; reason: string }) => [f.id, f.reason])).toEqual([
      [older.id, "pack failed verification"],
      [newer.id, "failed verification"],
    ]);
    expect(failed[0].packs).toEqual([shared]);

    // keep_last = 1 sees good backups only: the full one fills the slot, both incremental ones are evidence.
    const rotate = await runCli(["rotate", "--dry-run", "--json"], { cwd: dir });
    expect(rotate.code).toBe(0);
    const decisions = parseJson(rotate.stdout).results[0].backups as {
      id: string;
      action: string;
      reasons: string[];
    }[];
    expect(decisions.map((d) => [d.id, d.action, d.reasons])).toEqual([
      [newer.id, "keep", ["failed verification (evidence)"]],
      [older.id, "keep", ["pack failed verification (evidence)"]],
      [full.id, "keep", ["last 1"]],
    ]);
  });
});
