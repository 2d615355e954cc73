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
import { parseJson } from "../helpers/json.ts";
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
  return manifestOf(dir, parseJson(r.stdout).results[0].id);
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

describe("the raw SHA-256 of an image equal to a stored one's, page for page", () => {
  const PASSPHRASE = "correct horse battery staple";
  for (const enc of ["none", "passphrase"] as const) {
    it(`is that image's when unchanged, and the image's own when only its last pages changed (encryption: ${enc})`, async () => {
      const dir = tempDir();
      const path = join(dir, "app.db");
      // Several 4 MiB chunks, so the change below falls in the last one, after the hash had waited.
      makeDatabase(path, { rows: 3000, payloadBytes: 4000 });
      const encryption = enc === "passphrase" ? '[encryption]\npassphrase_env = "APP_PASS"\n' : "";
      writeFileSync(
        join(dir, "sqlbak.toml"),
        `backup_dir = "backups"\n${encryption}[[database]]\nname = "app"\npath = "app.db"\n`,
      );
      const env = { APP_PASS: PASSPHRASE };
      const run = async (args: string[]) => {
        const r = await runCli(args, { cwd: dir, env });
        expect(r.code, r.stderr).toBe(0);
        return r;
      };
      const idOf = async () => parseJson((await run(["backup", "--json"])).stdout).results[0].id as string;
      const fileSha = () => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
      // Restore writes the image only when its SHA-256 is the recorded one: the restored file's is both.
      let restores = 0;
      const sha = async (id: string) => {
        const to = join(dir, `restored-${restores++}.db`);
        await run(["restore", "app", "--id", id, "--to", to, "--yes"]);
        return new Bun.CryptoHasher("sha256").update(readFileSync(to)).digest("hex");
      };

      const first = await idOf();
      const second = await idOf();
      expect(await sha(second)).toBe(fileSha());
      expect(manifestOf(dir, second).check.reused_from).toBe(first);

      const db = new Database(path);
      const pages = (db.query("PRAGMA page_count").get() as any).page_count;
      db.run("UPDATE items SET payload = randomblob(4000) WHERE id = (SELECT max(id) FROM items)");
      expect((db.query("PRAGMA page_count").get() as any).page_count).toBe(pages);
      db.close(); // the last connection checkpoints: the file is the image again
      const third = await idOf();
      expect(await sha(third)).toBe(fileSha());
      expect(await sha(third)).not.toBe(await sha(second));
      await run(["verify", third]);
    });
  }
});
