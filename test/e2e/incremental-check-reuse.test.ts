/**
 * An incremental backup whose image equals, byte for byte, that of a listed
 * backup that passed its check records that backup's check and facts
 * (`check.reused_from`) instead of checking the same bytes again; a changed
 * database, or a backup whose latest verification FAILED, is never reused from.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { manifestFileName } from "../../src/lib/model/index.ts";
import { makeDatabase } from "../helpers/db.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function setup() {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 2000, payloadBytes: 400 });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    'backup_dir = "backups"\nincremental = true\n[[database]]\nname = "app"\npath = "app.db"\ncheck = "full"\n',
  );
  return dir;
}

const manifestPath = (dir: string, id: string) => join(dir, "backups", "app", manifestFileName(id));
const manifestOf = (dir: string, id: string) => JSON.parse(readFileSync(manifestPath(dir, id), "utf8"));

async function backup(dir: string): Promise<any> {
  const r = await runCli(["backup", "--json"], { cwd: dir });
  expect(r.code).toBe(0);
  return manifestOf(dir, JSON.parse(r.stdout)[0].id);
}

const factsOf = (m: any) => {
  const { sqlite_version, page_size, page_count, user_version, schema_sha256, tables } = m.snapshot;
  return { sqlite_version, page_size, page_count, user_version, schema_sha256, tables };
};

describe("check reuse of incremental backups", () => {
  it("an unchanged database reuses the first backup's check and facts; a changed row runs the check", async () => {
    const dir = setup();
    const first = await backup(dir);
    expect(first.check).toEqual({ level: "full", ok: true, result: "ok" });
    const second = await backup(dir);
    expect(second.raw.sha256).toBe(first.raw.sha256);
    expect(second.check).toEqual({ level: "full", ok: true, result: "ok", reused_from: first.id });
    expect(factsOf(second)).toEqual(factsOf(first));
    expect(second.snapshot.tables.items).toBe(2000);

    const db = new Database(join(dir, "app.db"));
    db.run("UPDATE items SET name = 'renamed' WHERE id = 7");
    db.close();
    const third = await backup(dir);
    expect(third.raw.sha256).not.toBe(first.raw.sha256);
    expect(third.check).toEqual({ level: "full", ok: true, result: "ok" });

    // The reused backups verify and list as any other.
    const verify = await runCli(["verify", second.id], { cwd: dir });
    expect(verify.code).toBe(0);
  });

  it("never reuses from a backup whose latest verification FAILED", async () => {
    const dir = setup();
    const first = await backup(dir);
    const failed = {
      at: new Date().toISOString(),
      level: "full",
      ok: false,
      problems: ["raw sha256 mismatch"],
      bad_packs: [],
    };
    writeFileSync(manifestPath(dir, first.id), JSON.stringify({ ...first, verifications: [failed] }, null, 2));
    const second = await backup(dir);
    expect(second.raw.sha256).toBe(first.raw.sha256);
    expect(second.check).toEqual({ level: "full", ok: true, result: "ok" });
  });

  it("does not reuse a check of a lower level than the one asked", async () => {
    const dir = setup();
    const toml = join(dir, "sqlbak.toml");
    writeFileSync(toml, readFileSync(toml, "utf8").replace('check = "full"', 'check = "quick"'));
    const first = await backup(dir);
    expect(first.check.level).toBe("quick");
    writeFileSync(toml, readFileSync(toml, "utf8").replace('check = "quick"', 'check = "full"'));
    const second = await backup(dir);
    expect(second.check).toEqual({ level: "full", ok: true, result: "ok" });
  });
});
