/** Pings, the pure parts: the request each monitor style gets, the bounded log tail, the [ping] config. */
import { describe, expect, it } from "bun:test";
import { type PingSignal, pingRequest } from "../../src/lib/ping/send.ts";
import { LogTail, MAX_PING_BODY_BYTES } from "../../src/lib/ping/tail.ts";
import { configProblems, configProject } from "../helpers/config.ts";

const RID = "0b6f3c1e-9a1d-4c55-8f3e-2b7d4c9a1e00";
const sig = (kind: PingSignal["kind"], extra: Partial<PingSignal> = {}): PingSignal => ({ kind, rid: RID, ...extra });

describe("pingRequest", () => {
  it("healthchecks: /start, the URL, /<exit code> (or /fail), each POST with rid, keeping the URL's own query", () => {
    const base = "https://hc.example/ping/KEY/app-backup/?create=1";
    expect(pingRequest("healthchecks", base, sig("start"))).toEqual({
      method: "POST",
      url: `https://hc.example/ping/KEY/app-backup/start?create=1&rid=${RID}`,
      body: "",
    });
    expect(pingRequest("healthchecks", base, sig("success", { body: "ok\n" }))!.url).toBe(
      `https://hc.example/ping/KEY/app-backup?create=1&rid=${RID}`,
    );
    expect(pingRequest("healthchecks", base, sig("fail", { exitCode: 5, body: "tail" }))).toEqual({
      method: "POST",
      url: `https://hc.example/ping/KEY/app-backup/5?create=1&rid=${RID}`,
      body: "tail",
    });
    expect(pingRequest("healthchecks", "https://hc-ping.com/uuid", sig("fail"))!.url).toBe(
      `https://hc-ping.com/uuid/fail?rid=${RID}`,
    );
  });

  it("uptime-kuma: no start; status, msg (one short line) and ping replace the push URL's placeholders", () => {
    const base = "https://kuma.example/api/push/TOKEN?status=up&msg=OK&ping=";
    expect(pingRequest("uptime-kuma", base, sig("start"))).toBeNull();
    const down = pingRequest(
      "uptime-kuma",
      base,
      sig("fail", { summary: `${"x".repeat(300)}\nsecond`, durationMs: 42 }),
    )!;
    expect(down.method).toBe("GET");
    const q = new URL(down.url).searchParams;
    expect(q.get("status")).toBe("down");
    expect(q.get("msg")).toBe("x".repeat(200));
    expect(q.get("ping")).toBe("42");
  });

  it("cronitor: state run/complete/fail, the run id as series, the exit code of a failure", () => {
    const base = "https://cronitor.link/p/KEY/nightly";
    const q = (s: PingSignal) => Object.fromEntries(new URL(pingRequest("cronitor", base, s)!.url).searchParams);
    expect(q(sig("start"))).toEqual({ state: "run", series: RID });
    expect(q(sig("success", { summary: "ok", durationMs: 1500 }))).toEqual({
      state: "complete",
      series: RID,
      message: "ok",
      duration: "1.500",
    });
    expect(q(sig("fail", { exitCode: 1, summary: "app: backup failed" }))).toMatchObject({
      state: "fail",
      status_code: "1",
    });
  });
});

describe("LogTail", () => {
  it("keeps the newest lines within the bound, whole lines only", () => {
    const tail = new LogTail();
    for (let i = 0; i < 2000; i++) tail.add(`[info] line ${i} ${"-".repeat(40)}`);
    const text = tail.text();
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_PING_BODY_BYTES);
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_PING_BODY_BYTES - 100);
    expect(text.endsWith(`[info] line 1999 ${"-".repeat(40)}\n`)).toBe(true);
    expect(text.startsWith("[info] line ")).toBe(true);
    expect(text).not.toContain("line 0 ");
  });

  it("cuts one line longer than the bound instead of dropping everything", () => {
    const tail = new LogTail(100);
    tail.add("é".repeat(500));
    expect(Buffer.byteLength(tail.text())).toBeLessThanOrEqual(100);
    expect(tail.text().startsWith("éé")).toBe(true);
  });
});

describe("[ping] config", () => {
  it("resolves job and database URLs, inline or from the environment (unset: null, with the variable's name)", () => {
    const { config } = configProject(
      `[ping]
url_env = "HC_BACKUP"
health = "https://hc.example/health"
style = "cronitor"
timeout = "3s"
[[database]]
name = "app"
path = "app.db"
ping_env = "HC_APP"
[[database]]
name = "other"
path = "other.db"
timeout = "2h"
`,
      { HC_BACKUP: "https://hc.example/backup" },
    );
    const c = config();
    expect(c.ping).toEqual({
      style: "cronitor",
      timeoutMs: 3000,
      jobs: {
        backup: { url: "https://hc.example/backup", env: "HC_BACKUP" },
        health: { url: "https://hc.example/health" },
      },
      databases: { app: { url: null, env: "HC_APP" } },
    });
    expect(c.timeoutMs).toBeNull();
    expect(c.databases.map((d) => d.timeoutMs)).toEqual([undefined, 7_200_000]);
    // The variables hold tokens: secrets, like the other *_env.
    expect(c.secretVars).toEqual([
      { name: "HC_BACKUP", key: "ping.url_env" },
      { name: "HC_APP", key: "database[0].ping_env" },
    ]);
    expect(c.notify.secretEnv).toEqual(["HC_BACKUP", "HC_APP"]);
  });

  it("reports every problem at once, and refuses a ping variable in command_env", () => {
    expect(
      configProblems(`timeout = "soon"
[notify]
command = "true"
command_env = ["HC_APP"]
[ping]
health = "https://a" 
health_env = "HC_H"
timeout = 5
extra = 1
[[database]]
path = "app.db"
ping_env = "HC_APP"
timeout = "x"
`).map((p) => p.replace(/^.*sqlbak\.toml: /, "")),
    ).toEqual([
      "ping.extra: unknown key (allowed here: url, url_env, verify, verify_env, health, health_env, style, timeout)",
      "ping.health: set health or health_env, not both",
      "ping.timeout: expected a duration such as 5s",
      'timeout: "soon" is not a duration (examples: 90s, 15m, 26h, 7d)',
      'database[0].timeout: "x" is not a duration (examples: 90s, 15m, 26h, 7d)',
      'notify.command_env: "HC_APP" holds a secret (database[0].ping_env); the command never gets it',
    ]);
  });
});
