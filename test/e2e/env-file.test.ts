/**
 * `--env-file PATH` and the `env_file` config key through the compiled binary:
 * a passphrase that lives only in the file encrypts a backup; a file others may
 * read, or that another user owns, is refused with exit 2; a bad line is named
 * without echoing its value; the environment wins over the file.
 */
import { describe, expect, it } from "bun:test";
import { chmodSync, chownSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProject, type Project } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";

const SPAWNS_TIMEOUT_MS = 30_000;
const SECRET = "correct horse battery staple";

function passphraseProject(extraToml = ""): Project {
  return makeProject({
    rows: 50,
    payloadBytes: 16,
    toml: `${extraToml}[encryption]\npassphrase_env = "APP_BACKUP_PASSPHRASE"`,
  });
}

function writeEnv(path: string, text: string, mode = 0o600): string {
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

/** The backup's manifest lists it as encrypted, and verify with the file's passphrase restores it. */
async function expectEncryptedBackup(p: Project, extra: string[], env: Record<string, string | undefined> = {}) {
  const b = await runCli(["backup", "app", "--json", ...extra], {
    cwd: p.dir,
    env: { APP_BACKUP_PASSPHRASE: undefined, ...env },
  });
  expect(b.stderr).not.toContain("not set");
  expect(b.code).toBe(0);
  const [result] = parseJson(b.stdout).results;
  expect(result.file ?? result.path ?? JSON.stringify(result)).toContain(".age");
  const v = await runCli(["verify", "app", "--level", "full", ...extra], {
    cwd: p.dir,
    env: { APP_BACKUP_PASSPHRASE: undefined, ...env },
  });
  expect(v.stderr).toContain(": ok (full");
  expect(v.code).toBe(0);
}

describe("environment file", () => {
  it(
    "--env-file supplies a passphrase found nowhere else: backup encrypts and verify decrypts",
    async () => {
      const p = passphraseProject();
      const file = writeEnv(join(p.dir, "secrets.env"), `# sqlbak secrets\n\nAPP_BACKUP_PASSPHRASE='${SECRET}'\r\n`);
      const without = await runCli(["backup", "app"], { cwd: p.dir, env: { APP_BACKUP_PASSPHRASE: undefined } });
      expect(without.code).toBe(1);
      expect(without.stderr).toContain("$APP_BACKUP_PASSPHRASE, which is not set");
      await expectEncryptedBackup(p, ["--env-file", "secrets.env"]);
      expect(readFileSync(file, "utf8")).toContain(SECRET);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "env_file in the config is resolved against the config's folder",
    async () => {
      const p = passphraseProject('env_file = "conf.d/sqlbak.env"\n');
      Bun.spawnSync(["mkdir", "-p", join(p.dir, "conf.d")]);
      writeEnv(join(p.dir, "conf.d", "sqlbak.env"), `APP_BACKUP_PASSPHRASE="${SECRET}"\n`);
      const elsewhere = join(p.dir, "conf.d");
      const b = await runCli(["backup", "app", "--config", join(p.dir, "sqlbak.toml")], {
        cwd: elsewhere,
        env: { APP_BACKUP_PASSPHRASE: undefined },
      });
      expect(b.stderr).not.toContain("not set");
      expect(b.code).toBe(0);
      await expectEncryptedBackup(p, []);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "a variable already set in the environment wins over the file",
    async () => {
      const p = passphraseProject();
      writeEnv(join(p.dir, "secrets.env"), "APP_BACKUP_PASSPHRASE=the-file-one\n");
      const b = await runCli(["backup", "app", "--env-file", "secrets.env"], {
        cwd: p.dir,
        env: { APP_BACKUP_PASSPHRASE: SECRET },
      });
      expect(b.code).toBe(0);
      // Without the file, the environment's passphrase decrypts it: the file's did not replace it.
      const v = await runCli(["verify", "app", "--level", "full"], {
        cwd: p.dir,
        env: { APP_BACKUP_PASSPHRASE: SECRET },
      });
      expect(v.code).toBe(0);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it("refuses a file group or others may read (0644): exit 2 with the chmod fix", async () => {
    const p = passphraseProject();
    const file = writeEnv(join(p.dir, "secrets.env"), `APP_BACKUP_PASSPHRASE=${SECRET}\n`, 0o644);
    const r = await runCli(["backup", "app", "--env-file", file], {
      cwd: p.dir,
      env: { APP_BACKUP_PASSPHRASE: undefined },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: environment file has mode 0644`);
    expect(r.stderr).toContain(`chmod 600 '${file}'`);
    expect(r.stderr).not.toContain(SECRET);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  const root = process.geteuid?.() === 0;
  (root ? it : it.skip)(
    "refuses a file another user owns: exit 2 with the chown fix (needs root; skipped otherwise)",
    async () => {
      const p = passphraseProject();
      const file = writeEnv(join(p.dir, "secrets.env"), `APP_BACKUP_PASSPHRASE=${SECRET}\n`);
      chownSync(file, 65534, 65534);
      const r = await runCli(["backup", "app", "--env-file", file], {
        cwd: p.dir,
        env: { APP_BACKUP_PASSPHRASE: undefined },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `${file}: environment file is owned by uid 65534, not by the user running sqlbak (uid 0)`,
      );
      expect(r.stderr).toContain(`chown 0 '${file}'`);
    },
  );

  it("names a bad line without echoing any value", async () => {
    const p = passphraseProject();
    const file = writeEnv(join(p.dir, "secrets.env"), `# ok\nAPP_BACKUP_PASSPHRASE='${SECRET}\n`);
    const r = await runCli(["backup", "app", "--env-file", file], {
      cwd: p.dir,
      env: { APP_BACKUP_PASSPHRASE: undefined },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${file}:2: APP_BACKUP_PASSPHRASE: a quoted value must be wholly inside one pair of ' quotes`,
    );
    expect(r.stderr).not.toContain("horse");
    const noEq = writeEnv(join(p.dir, "b.env"), `\n\nexport ${SECRET}\n`);
    const r2 = await runCli(["backup", "app", "--env-file", noEq], {
      cwd: p.dir,
      env: { APP_BACKUP_PASSPHRASE: undefined },
    });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`${noEq}:3: expected KEY=value`);
    expect(r2.stderr).not.toContain("horse");
  });
});
