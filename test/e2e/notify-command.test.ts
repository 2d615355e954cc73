/** The notify `command` channel through the compiled binary: what environment the command gets. */
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function setup(notifyExtra: string) {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 20 });
  const out = join(dir, "env.txt");
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"
[encryption]
passphrase_env = "APP_PASS"
[notify]
on = ["success", "failure"]
ntfy_token_env = "NTFY_TOK"
command = "env > '${out}'"
${notifyExtra}
[[destination]]
name = "off"
type = "s3"
bucket = "b"
endpoint = "http://127.0.0.1:1"
secret_access_key_env = "MY_S3_SECRET"
[[database]]
name = "app"
path = "app.db"
`,
  );
  return { dir, out };
}

const SECRETS = {
  APP_PASS: "passphrase-value-long-enough",
  AWS_SECRET_ACCESS_KEY: "aws-secret-value",
  AWS_ACCESS_KEY_ID: "aws-key-id",
  NTFY_TOK: "ntfy-token-value",
  MY_S3_SECRET: "s3-secret-value",
  SQLBAK_NOT_AN_EVENT: "from-the-parent",
};

describe("notify command environment", () => {
  it("gets the SQLBAK_* event, the ordinary variables and command_env, never the configured secrets", async () => {
    const { dir, out } = setup('command_env = ["PAGER_ROUTE"]');
    const r = await runCli(["backup"], {
      cwd: dir,
      env: { ...SECRETS, PAGER_ROUTE: "ops-team", UNLISTED_VAR: "x", LC_TIME: "C", TZ: "UTC" },
    });
    expect(r.stderr).not.toContain("command notification failed");
    const env = Object.fromEntries(
      readFileSync(out, "utf8")
        .split("\n")
        .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    for (const name of Object.keys(SECRETS)) expect(env[name]).toBeUndefined();
    const text = readFileSync(out, "utf8");
    for (const value of Object.values(SECRETS)) expect(text).not.toContain(value);
    expect(env.UNLISTED_VAR).toBeUndefined();
    expect(env.PATH).toBe(process.env.PATH!);
    expect(env.HOME).toBe(dir);
    expect(env.LC_TIME).toBe("C");
    expect(env.TZ).toBe("UTC");
    expect(env.PAGER_ROUTE).toBe("ops-team");
    expect(env.SQLBAK_EVENT).toBeDefined();
    expect(env.SQLBAK_DATABASE).toBe("app");
    expect(env.SQLBAK_HOST).toBeDefined();
  });

  it("refuses command_env naming a variable the config marks as secret, or any AWS_* variable", async () => {
    const { dir } = setup('command_env = ["APP_PASS", "NTFY_TOK", "MY_S3_SECRET", "AWS_REGION", "OK_VAR", "bad name"]');
    const r = await runCli(["backup"], { cwd: dir, env: SECRETS });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('notify.command_env: "APP_PASS" holds a secret (encryption.passphrase_env)');
    expect(r.stderr).toContain('notify.command_env: "NTFY_TOK" holds a secret (notify.ntfy_token_env)');
    expect(r.stderr).toContain(
      'notify.command_env: "MY_S3_SECRET" holds a secret (destination[0].secret_access_key_env)',
    );
    expect(r.stderr).toContain('notify.command_env: "AWS_REGION" is an AWS_* variable');
    expect(r.stderr).toContain('notify.command_env: "bad name" is not an environment variable name');
    expect(r.stderr).not.toContain("OK_VAR");
    expect(r.stderr).not.toContain("    at ");
  });
});
