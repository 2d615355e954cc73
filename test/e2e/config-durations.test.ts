/** Configured durations through the compiled binary: shown as configured, absurd ones refused. */
import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { whileLocked } from "../helpers/backups.ts";
import { makeDatabase } from "../helpers/db.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

function setup(toml: string) {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 10 });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n${toml}\n[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  return dir;
}

describe("configured durations", () => {
  it("reports a sub-second lock_timeout as it was set, not as 0s", async () => {
    const dir = setup('lock_timeout = "500ms"');
    expect((await runCli(["backup"], { cwd: dir })).code).toBe(0);
    await whileLocked(join(dir, "backups", "app"), async () => {
      const r = await runCli(["backup"], { cwd: dir });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain("gave up after 500ms");
    });
  });

  it("refuses a duration beyond 100 years, including one too long to be a number", async () => {
    const dir = setup(`lock_timeout = "${"9".repeat(400)}s"\nmax_age = "36501d"`);
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `lock_timeout: "${"9".repeat(20)}…" is longer than 100 years, the longest duration sqlbak accepts`,
    );
    expect(r.stderr).toContain('max_age: "36501d" is longer than 100 years, the longest duration sqlbak accepts');
    expect(r.stderr).not.toContain("    at ");
  });
});
