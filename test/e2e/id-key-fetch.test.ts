/**
 * The id key through the compiled binary and a `dir` destination: the copy
 * beside the backups goes to the destination (never the local key), and a
 * backup_dir that lost both the key and its copies fetches the copy back and
 * keeps deduplicating instead of starting a new key.
 */
import { describe, expect, it } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const COPY_RE = /^id-key-[0-9a-f]{16}(\.age)?$/;
const PASS_ENV = { APP_BACKUP_PASSPHRASE: "correct horse battery staple" };

function setup(toml: string) {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 2000, payloadBytes: 400 });
  mkdirSync(join(dir, "nas")); // a dir destination must exist (a mount point)
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\nincremental = true\n${toml}\n[[database]]\nname = "app"\npath = "app.db"\n` +
      `[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n`,
  );
  return dir;
}

const cases = [
  { name: "unencrypted", toml: "", env: {}, sealed: false },
  { name: "passphrase", toml: '[encryption]\npassphrase_env = "APP_BACKUP_PASSPHRASE"', env: PASS_ENV, sealed: true },
];

describe("id key copies at a destination", () => {
  for (const c of cases) {
    it(`${c.name}: a backup_dir without key or copies fetches the copy and dedups`, async () => {
      const dir = setup(c.toml);
      const folder = join(dir, "backups", "app");
      const remote = join(dir, "nas", "app");
      const backup = async () => {
        const r = await runCli(["backup", "--json"], { cwd: dir, env: c.env });
        expect(r.code).toBe(0);
        return { result: parseJson(r.stdout).results[0], stderr: r.stderr };
      };
      const first = await backup();
      const copies = readdirSync(folder).filter((f) => COPY_RE.test(f));
      expect(copies).toHaveLength(1);
      const copy = copies[0]!;
      expect(copy.endsWith(".age")).toBe(c.sealed);
      const key = readFileSync(join(folder, ".sqlbak-id-key"));
      const remoteNames = readdirSync(remote);
      expect(remoteNames).toContain(copy);
      expect(remoteNames).not.toContain(".sqlbak-id-key");

      // backup_dir brought back without its key files: only the destination has the key now.
      rmSync(join(folder, ".sqlbak-id-key"));
      rmSync(join(folder, copy));
      const again = await backup();
      expect(again.stderr).toContain(`app: fetched the id key copy nas: ${copy}`);
      expect(again.result.warnings).toEqual([]);
      expect(again.result.stored_size * 20).toBeLessThan(first.result.stored_size); // pages found again
      expect(readdirSync(folder).filter((f) => COPY_RE.test(f))).toEqual([copy]); // no new key
      expect(readFileSync(join(folder, ".sqlbak-id-key"))).toEqual(key);
      expect(readdirSync(remote).filter((f) => COPY_RE.test(f))).toEqual([copy]);

      // With the key present, nothing is fetched.
      const third = await backup();
      expect(third.stderr).not.toContain("fetched the id key");
    });
  }
});
