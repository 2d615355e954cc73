/**
 * Dead-man's-switch pings through the compiled binary, against a real monitor
 * on 127.0.0.1: start and end of each job and each database with one run id,
 * the log tail as body, URLs from the environment, and failures that never
 * change the exit code.
 */
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { pingServer, type RecordedPing } from "../helpers/ping-server.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function project(toml: string, opts: { db?: boolean } = {}) {
  const dir = tempDir();
  if (opts.db !== false) makeDatabase(join(dir, "app.db"), { rows: 20 });
  writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "backups"\n${toml}`);
  return dir;
}

const opLog = (dir: string) =>
  readFileSync(join(dir, "backups", "sqlbak.log.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const paths = (pings: RecordedPing[]) => pings.map((p) => `${p.method} ${p.path}`);

describe("backup pings", () => {
  it("pings the job and the database: start, then success, each pair with its own run id", async () => {
    const hc = pingServer();
    const dir = project(`[ping]
url = "${hc.url("/job")}"
[[database]]
name = "app"
path = "app.db"
ping = "${hc.url("/db-app")}"
`);
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.stderr).not.toContain("ping failed");
    expect(r.code).toBe(0);
    expect(paths(hc.pings)).toEqual(["POST /job/start", "POST /db-app/start", "POST /db-app", "POST /job"]);
    const [jobStart, dbStart, dbEnd, jobEnd] = hc.pings as [RecordedPing, RecordedPing, RecordedPing, RecordedPing];
    expect(jobStart.query.rid).toMatch(UUID_RE);
    expect(dbStart.query.rid).toMatch(UUID_RE);
    expect(jobEnd.query.rid).toBe(jobStart.query.rid!);
    expect(dbEnd.query.rid).toBe(dbStart.query.rid!);
    expect(dbStart.query.rid).not.toBe(jobStart.query.rid!);
    // The end pings carry what the run said: the database's result, and the job's log lines.
    expect(dbEnd.body).toMatch(/^app: backed up as app-\S+ \(/);
    expect(jobEnd.body).toContain("[success] app: app-");
  });

  it("a failed backup pings /<exit code> with the error in the body; the exit code is the backup's", async () => {
    const hc = pingServer();
    const dir = project(
      `[ping]
url = "${hc.url("/job")}"
[[database]]
name = "app"
path = "missing.db"
ping = "${hc.url("/db-app")}"
`,
      { db: false },
    );
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(paths(hc.pings)).toEqual(["POST /job/start", "POST /db-app/start", "POST /db-app/1", "POST /job/1"]);
    expect(hc.pings[2]!.body).toContain("app: backup failed:");
    expect(hc.pings[2]!.body).toContain("missing.db");
    expect(hc.pings[3]!.body).toContain("[error] app: backup failed:");
    expect(hc.pings[3]!.query.rid).toBe(hc.pings[0]!.query.rid!);
  });

  it("reads a URL from the variable url_env names; an unset one is a warning and a logged failure", async () => {
    const hc = pingServer();
    const toml = `[ping]
url_env = "HC_URL"
[[database]]
name = "app"
path = "app.db"
ping_env = "HC_APP"
`;
    const dir = project(toml);
    const r = await runCli(["backup"], {
      cwd: dir,
      env: { HC_URL: hc.url("/secret-job"), HC_APP: hc.url("/secret-app") },
    });
    expect(r.code).toBe(0);
    expect(paths(hc.pings)).toEqual([
      "POST /secret-job/start",
      "POST /secret-app/start",
      "POST /secret-app",
      "POST /secret-job",
    ]);

    const unset = await runCli(["backup"], { cwd: dir, env: { HC_APP: hc.url("/secret-app") } });
    expect(unset.code).toBe(0);
    expect(unset.stderr).toContain("job backup: start ping failed: HC_URL is not set: not pinged");
    expect(opLog(dir)).toContainEqual(
      expect.objectContaining({ op: "ping", ok: false, target: "job backup", error: "HC_URL is not set: not pinged" }),
    );
  });

  it("a monitor that fails is retried, logged and warned about, never changing the exit code or naming the URL", async () => {
    const hc = pingServer(500);
    const dir = project(`[ping]
url = "${hc.url("/tok3n-job")}"
[[database]]
name = "app"
path = "app.db"
`);
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(0);
    // Each ping tried twice.
    expect(paths(hc.pings)).toEqual([
      "POST /tok3n-job/start",
      "POST /tok3n-job/start",
      "POST /tok3n-job",
      "POST /tok3n-job",
    ]);
    expect(r.stderr).toContain("job backup: start ping failed: HTTP 500");
    const failures = opLog(dir).filter((e) => e.op === "ping");
    expect(failures.map((e) => e.kind)).toEqual(["start", "success"]);
    expect(JSON.stringify(opLog(dir))).not.toContain("tok3n");
    expect(r.stderr).not.toContain("tok3n");
  });

  it("a one-off backup of a named database and a dry run do not ping the job", async () => {
    const hc = pingServer();
    const dir = project(`[ping]
url = "${hc.url("/job")}"
[[database]]
name = "app"
path = "app.db"
ping = "${hc.url("/db-app")}"
`);
    expect((await runCli(["backup", "--dry-run"], { cwd: dir })).code).toBe(0);
    expect(hc.pings).toEqual([]);
    expect((await runCli(["backup", "app"], { cwd: dir })).code).toBe(0);
    expect(paths(hc.pings)).toEqual(["POST /db-app/start", "POST /db-app"]);
  });
});

describe("verify and health pings", () => {
  it("verify pings [ping] verify; stats --check pings [ping] health, /3 when unhealthy", async () => {
    const hc = pingServer();
    const dir = project(`[ping]
verify = "${hc.url("/verify")}"
health = "${hc.url("/health")}"
[[database]]
name = "app"
path = "app.db"
`);
    const unhealthy = await runCli(["stats", "--check"], { cwd: dir });
    expect(unhealthy.code).toBe(3);
    expect(paths(hc.pings)).toEqual(["POST /health/start", "POST /health/3"]);
    expect(hc.pings[1]!.body).toContain("health problem");
    hc.pings.length = 0;

    expect((await runCli(["backup"], { cwd: dir })).code).toBe(0);
    expect(hc.pings).toEqual([]);
    const v = await runCli(["verify"], { cwd: dir });
    expect(v.code).toBe(0);
    expect(paths(hc.pings)).toEqual(["POST /verify/start", "POST /verify"]);
    expect(hc.pings[1]!.query.rid).toBe(hc.pings[0]!.query.rid!);
    expect(hc.pings[1]!.body).toContain("[success] app-");
  });
});

describe("other monitor styles", () => {
  it("uptime-kuma: no start, status=up|down with a message; cronitor: state=run|complete with a series", async () => {
    const hc = pingServer();
    const kuma = project(`[ping]
style = "uptime-kuma"
url = "${hc.url("/api/push/TOKEN")}?status=up&msg=OK&ping="
[[database]]
name = "app"
path = "app.db"
`);
    expect((await runCli(["backup"], { cwd: kuma })).code).toBe(0);
    expect(paths(hc.pings)).toEqual(["GET /api/push/TOKEN"]);
    expect(hc.pings[0]!.query).toMatchObject({ status: "up", msg: "backup: ok" });
    expect(Number(hc.pings[0]!.query.ping)).toBeGreaterThanOrEqual(0);
    hc.pings.length = 0;

    const cronitor = project(`[ping]
style = "cronitor"
url = "${hc.url("/p/KEY/nightly")}"
[[database]]
name = "app"
path = "missing.db"
`);
    expect((await runCli(["backup"], { cwd: cronitor })).code).toBe(1);
    expect(paths(hc.pings)).toEqual(["GET /p/KEY/nightly", "GET /p/KEY/nightly"]);
    expect(hc.pings[0]!.query.state).toBe("run");
    expect(hc.pings[1]!.query).toMatchObject({ state: "fail", status_code: "1", series: hc.pings[0]!.query.series! });
    expect(hc.pings[1]!.query.message).toContain("app: backup failed");
  });
});

describe("ping config", () => {
  it("refuses a URL and its variable together, a bad style, and a variable name that is not one", async () => {
    const dir = project(`[ping]
url = "https://hc-ping.com/x"
url_env = "HC_URL"
style = "pingdom"
verify_env = "not a name"
[[database]]
name = "app"
path = "app.db"
ping = "ftp://x"
`);
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ping.url: set url or url_env, not both");
    expect(r.stderr).toContain('ping.style: "pingdom" is not one of healthchecks | uptime-kuma | cronitor');
    expect(r.stderr).toContain("ping.verify_env: expected the NAME of an environment variable");
    expect(r.stderr).toContain("database[0].ping: expected an http(s) URL");
  });
});
