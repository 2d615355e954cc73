/**
 * A run's `timeout` / `--timeout`, through the compiled binary: a backup still
 * compressing when its limit comes (24 MB at zstd level 19 take several seconds)
 * stops with exit 5, logs and sends the failure (op log, /5 pings with the run
 * ids of the starts, the failure notification), lists nothing partial, and the
 * next backup works.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseJson } from "../helpers/json.ts";
import { runUntil } from "../helpers/pause.ts";
import { pingServer } from "../helpers/ping-server.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { webhook } from "../helpers/webhook.ts";

function project(extra = "", dbExtra = "", incremental = true, level = 19) {
  const hc = pingServer();
  const hook = webhook<{ event: string; title: string; error?: string; database?: string }>();
  const dir = tempDir();
  slowDatabase(join(dir, "app.db"));
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"
incremental = ${incremental}
compression_level = ${level}
${extra}
[notify]
on = ["failure"]
webhook = "${hook.url}"
[ping]
url = "${hc.url("/job")}"
[[database]]
name = "app"
path = "app.db"
ping = "${hc.url("/db-app")}"
${dbExtra}
`,
  );
  return { dir, hc, hook };
}

const opLog = (dir: string) =>
  readFileSync(join(dir, "backups", "sqlbak.log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function listed(dir: string): Promise<unknown[]> {
  const r = await runCli(["list", "app", "--json"], { cwd: dir });
  expect(r.code).toBe(0);
  return parseJson(r.stdout).backups as unknown[];
}

/**
 * About 24 MB of hex text: zstd level 19 takes several seconds over it even on
 * a core three times this machine's speed (6 MB finished inside 1s on one CI machine).
 */
function slowDatabase(path: string) {
  const db = new Database(path, { create: true });
  db.run("CREATE TABLE t (x TEXT)");
  db.run(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) INSERT INTO t SELECT hex(randomblob(1000)) FROM n",
  );
  db.close();
}

/** A backup whose compression outlasts its 1s limit. */
function timedOutBackup(dir: string, args: string[]) {
  return runCli(["backup", ...args], { cwd: dir });
}

describe("run timeout", () => {
  it.each([true, false])(
    "--timeout stops a backup mid-way (incremental %p): exit 5, reported, nothing listed",
    async (incremental) => {
      const { dir, hc, hook } = project("", "", incremental);
      const r = await timedOutBackup(dir, ["--timeout", "1s"]);
      expect(r.stderr).toContain("backup run timed out after 1s while backing up app; stopped");
      expect(r.stderr).not.toContain("    at ");
      expect(r.code).toBe(5);

      expect(await listed(dir)).toEqual([]);
      expect(opLog(dir)).toContainEqual(
        expect.objectContaining({ op: "backup", database: "app", ok: false, timeout: true }),
      );
      // The abandoned backup never logged an outcome of its own.
      expect(opLog(dir).filter((e) => e.op === "backup")).toHaveLength(1);

      const job = hc.pings.filter((p) => p.path.startsWith("/job"));
      const db = hc.pings.filter((p) => p.path.startsWith("/db-app"));
      expect(job.map((p) => p.path)).toEqual(["/job/start", "/job/5"]);
      expect(db.map((p) => p.path)).toEqual(["/db-app/start", "/db-app/5"]);
      expect(job[1]!.query.rid).toBe(job[0]!.query.rid!);
      expect(db[1]!.query.rid).toBe(db[0]!.query.rid!);
      expect(job[1]!.body).toContain("[error] backup run timed out after 1s while backing up app");
      expect(hook.events).toHaveLength(1);
      expect(hook.events[0]).toMatchObject({ event: "backup.failure", database: "app" });
      expect(hook.events[0]!.error).toContain("timed out after 1s");

      // The lock went with the process, and the next run backs up as usual (at a level that is quick).
      const config = join(dir, "sqlbak.toml");
      writeFileSync(config, readFileSync(config, "utf8").replace("compression_level = 19", "compression_level = 3"));
      const next = await runCli(["backup"], { cwd: dir });
      expect(next.stderr).not.toContain("locked");
      expect(next.code).toBe(0);
      expect(await listed(dir)).toHaveLength(1);
      const v = await runCli(["verify", "app"], { cwd: dir });
      expect(v.code).toBe(0);
    },
  );

  it("a database's own timeout bounds its backup, with no global one", async () => {
    const { dir, hc } = project("", 'timeout = "1s"');
    const r = await timedOutBackup(dir, []);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("backup run timed out after 1s while backing up app");
    expect(hc.pings.map((p) => p.path)).toEqual(["/job/start", "/db-app/start", "/db-app/5", "/job/5"]);
    expect(await listed(dir)).toEqual([]);
  });

  it("a one-off `backup NAME` that times out tells the database's monitor, not the job's", async () => {
    const { dir, hc } = project();
    const r = await timedOutBackup(dir, ["app", "--timeout", "1s"]);
    expect(r.code).toBe(5);
    expect(hc.pings.map((p) => p.path)).toEqual(["/db-app/start", "/db-app/5"]);
  });

  it("a run stuck waiting for another run's lock stops at its timeout: backup and verify", async () => {
    const { dir, hc } = project("", "", true, 3);
    expect((await runCli(["backup", "app"], { cwd: dir })).code).toBe(0);
    hc.pings.length = 0;
    // A backup held mid-way keeps the folder's lock; lock_timeout (2m) would let the others wait far longer.
    const holder = await runUntil("backup:snapshot-taken", ["backup", "app"], dir);
    const backup = await runCli(["backup", "--timeout", "1s"], { cwd: dir });
    expect(backup.stderr).toContain("backup run timed out after 1s while backing up app; stopped");
    expect(backup.code).toBe(5);
    const verify = await runCli(["verify", "--timeout", "1s"], { cwd: dir });
    expect(verify.stderr).toContain("verify run timed out after 1s; stopped");
    expect(verify.code).toBe(5);
    expect(opLog(dir)).toContainEqual(expect.objectContaining({ op: "verify", ok: false, timeout: true }));
    const held = await holder.resume();
    expect(held.code).toBe(0);
    expect(await listed(dir)).toHaveLength(2);
  });

  it("a run within its config timeout is not touched; a bad --timeout is a usage error", async () => {
    const { dir, hc } = project('timeout = "10m"', "", true, 3);
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(hc.pings.map((p) => p.path)).toEqual(["/job/start", "/db-app/start", "/db-app", "/job"]);
    const bad = await runCli(["backup", "--timeout", "soon"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--timeout takes a duration such as 30m or 2h, not "soon"');
  });
});
