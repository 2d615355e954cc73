/** The interactive `restore` through the compiled binary in a real terminal (tmux): pick, confirm, cancel. */
import { afterEach, describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backupNow, exec, listBackups, makeProject, rows, sha256File } from "../helpers/backups.ts";
import { BIN } from "../helpers/run-cli.ts";
import { TmuxSession } from "../helpers/tmux.ts";

let session: TmuxSession | null = null;
afterEach(() => {
  session?.kill();
  session = null;
});

/** A project with databases "app" (backups of 50 then 10 rows; 5 rows live) and "other". */
async function setup() {
  const p = makeProject();
  writeFileSync(join(p.dir, "other.db"), "");
  exec(join(p.dir, "other.db"), "CREATE TABLE t (x)");
  writeFileSync(
    join(p.dir, "sqlbak.toml"),
    `${readFileSync(join(p.dir, "sqlbak.toml"), "utf8")}\n[[database]]\nname = "other"\npath = "other.db"\n`,
  );
  const older = await backupNow(p);
  exec(p.db, "DELETE FROM items WHERE id > 10");
  const newer = await backupNow(p);
  exec(p.db, "DELETE FROM items WHERE id > 5");
  const r = Bun.spawnSync([BIN, "backup", "other"], { cwd: p.dir });
  expect(r.exitCode).toBe(0);
  return { p, older, newer };
}

/** Runs `sqlbak restore ARGS` in tmux with a clean environment; the exit code lands in `<dir>/exit`. */
function startRestore(dir: string, args = ""): TmuxSession {
  const s = new TmuxSession();
  const cmd =
    `cd '${dir}' && env -i PATH="$PATH" HOME='${dir}' TERM=xterm-256color '${BIN}' restore ${args}; ` +
    `echo $? > '${dir}/exit'; sleep 60`;
  s.start(cmd);
  session = s;
  return s;
}

async function exitCode(dir: string): Promise<number> {
  const file = join(dir, "exit");
  // The shell creates the file before it writes the code: an empty read would look like exit 0.
  const read = () => (existsSync(file) ? readFileSync(file, "utf8").trim() : "");
  for (let i = 0; i < 200 && read() === ""; i++) await Bun.sleep(50);
  if (read() === "") throw new Error(`no exit code in ${file} after 10s`);
  return Number(read());
}

describe("sqlbak restore on a terminal", () => {
  it("asks for the database and the backup, shows the plan, and restores after confirmation", async () => {
    const { p, older } = await setup();
    const s = startRestore(p.dir);
    await s.waitFor("Which database?");
    s.send("Enter"); // app is first
    const list = await s.waitFor("Which backup?");
    expect(list).toMatch(
      /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d {2}\d+s ago {2}manual {2}- {2}[\d.]+ KiB {2}never verified/,
    );
    s.send("Down", "Enter"); // the older backup (newest first)
    const plan = await s.waitFor(`Replace ${p.db} with this backup?`);
    expect(plan).toContain(`backup:  ${older.id}`);
    expect(plan).toContain(`target:  ${p.db}`);
    s.send("Left", "Enter"); // the default answer is No
    // The replaced file is kept beside it (restore-kept.test.ts), with the command that puts it back.
    await s.waitFor("to undo: sqlbak restore app --file");
    expect(await exitCode(p.dir)).toBe(0);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 50 }]);
    expect(readdirSync(p.dir).filter((n) => n.startsWith("app.db.pre-restore-"))).toHaveLength(1);
  });

  it.each([
    ["at the database prompt", async (_s: TmuxSession) => {}],
    [
      "at the confirmation",
      async (s: TmuxSession) => {
        s.send("Enter");
        await s.waitFor("Which backup?");
        s.send("Enter");
        await s.waitFor("with this backup?");
      },
    ],
  ])("Escape %s cancels with nothing changed (exit 1)", async (_where, advance) => {
    const { p } = await setup();
    const before = sha256File(p.db);
    const s = startRestore(p.dir);
    await s.waitFor("Which database?");
    await advance(s);
    s.send("Escape");
    await s.waitFor("restore cancelled; nothing was changed");
    expect(await exitCode(p.dir)).toBe(1);
    expect(sha256File(p.db)).toBe(before);
    expect((await listBackups(p)).map((b) => b.kind)).toEqual(["manual", "manual", "manual"]);
  });

  it("Ctrl-C at the backup prompt cancels with nothing changed", async () => {
    const { p } = await setup();
    const before = sha256File(p.db);
    const s = startRestore(p.dir, "app");
    await s.waitFor("Which backup?");
    s.send("C-c");
    await s.waitFor("restore cancelled; nothing was changed");
    expect(await exitCode(p.dir)).toBe(1);
    expect(sha256File(p.db)).toBe(before);
  });
});
