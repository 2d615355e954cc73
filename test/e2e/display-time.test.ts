/**
 * Every displayed time is local time with its UTC offset, and `restore --at`
 * given a time exactly as `list` shows it selects that backup. Bug: list
 * dropped the milliseconds, so --at picked the backup before it; list and
 * rotate showed times in different, unlabelled zones.
 */
import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const TIME = /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2}/;

function setup() {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 10 });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n[retention]\nkeep_last = 5\n[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  return dir;
}

describe("displayed times", () => {
  it("list and rotate show the same time with its offset, and restore --at that time picks that backup", async () => {
    const dir = setup();
    const env = { TZ: "Asia/Kolkata" };
    expect((await runCli(["backup", "--rotate"], { cwd: dir, env })).code).toBe(0);
    await Bun.sleep(1100);
    expect((await runCli(["backup", "--rotate"], { cwd: dir, env })).code).toBe(0);
    const ids: string[] = parseJson((await runCli(["list", "--json"], { cwd: dir, env })).stdout).backups.map(
      (b: { id: string }) => b.id,
    );
    expect(ids.length).toBe(2);

    const list = await runCli(["list"], { cwd: dir, env });
    const shown = list.stdout
      .split("\n")
      .filter((l) => l.startsWith("app-"))
      .map((l) => [l.split(/\s+/)[0], TIME.exec(l)?.[0]]);
    expect(shown.map(([, t]) => t?.endsWith(" +05:30"))).toEqual([true, true]);

    const rotate = await runCli(["rotate", "--dry-run"], { cwd: dir, env });
    for (const [id, t] of shown) expect(rotate.stdout.split("\n").find((l) => l.includes(id!))).toContain(t!);

    for (const [id, t] of shown) {
      const r = await runCli(["restore", "app", "--at", t!, "--to", join(dir, `copy-${id}.db`), "--yes"], {
        cwd: dir,
        env,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toContain(id!);
      expect(`${r.stdout}${r.stderr}`).not.toContain(ids.find((x) => x !== id)!);
    }
  });
});
