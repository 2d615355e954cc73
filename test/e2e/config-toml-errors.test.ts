/**
 * A TOML syntax error names the file, line and column (Bun's parser reports
 * neither) and exits 2 without a stack trace.
 */
import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("TOML syntax errors", () => {
  it.each([
    ["an unclosed string", `backup_dir = "backups"\ncheck = "quick\n`, 2, 9, /Unterminated string/],
    [
      "a bad table header",
      `backup_dir = "backups"\n\n[[database]\npath = "app.db"\n`,
      3,
      12,
      /Expected '\]\]' to close an array-of-tables header but found the end of the line/,
    ],
    [
      "a duplicate key",
      `backup_dir = "a"\ncheck = "quick"\n  backup_dir = "b"\n`,
      3,
      3,
      /Cannot redefine key 'backup_dir'/,
    ],
    [
      "a bad line after an array over several lines",
      `[[database]]\npath = "app.db"\nprobes = [\n  "SELECT 1",\n]\ncheck = = "full"\n`,
      6,
      9,
      /Expected a value/,
    ],
  ])("%s: exits 2 with FILE:LINE:COL", async (_what, toml, line, column, message) => {
    const dir = tempDir();
    makeDatabase(join(dir, "app.db"));
    const file = join(dir, "sqlbak.toml");
    writeFileSync(file, toml);
    const r = await runCli(["backup", "app.db"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:${line}:${column}: invalid TOML: `);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
