/** `sqlbak report` through the compiled binary: the text, the JSON, and `--send` to real listeners on 127.0.0.1. */
import { afterEach, describe, expect, it } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { webhook } from "../helpers/webhook.ts";

interface Received {
  headers: Record<string, string>;
  body: string;
}

const servers: { stop(force?: boolean): void }[] = [];
afterEach(() => {
  while (servers.length) servers.pop()!.stop(true);
});

/** A listener answering every request with `status`, keeping what it got. */
function listen(status: number) {
  const received: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      received.push({ headers: Object.fromEntries(req.headers), body: await req.text() });
      return new Response("", { status });
    },
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}/topic`, received };
}

/** app and shop, a `dir` destination, and `notify` as the [notify] table's body. */
function setup(notify: string) {
  const dir = tempDir();
  makeDatabase(join(dir, "app.db"), { rows: 200, payloadBytes: 100 });
  makeDatabase(join(dir, "shop.db"), { rows: 20 });
  mkdirSync(join(dir, "nas"));
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n[notify]\n${notify}\n` +
      `[[database]]\nname = "app"\npath = "app.db"\n[[database]]\nname = "shop"\npath = "shop.db"\n` +
      `[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n`,
  );
  return dir;
}

async function ok(dir: string, ...args: string[]) {
  const r = await runCli(args, { cwd: dir });
  expect([r.code, r.stderr]).toEqual([0, expect.any(String)]);
  return r;
}

/** Two backups of app, restore-tested; one of shop whose data is then damaged and fails its verification. */
async function history(dir: string) {
  await ok(dir, "backup", "--quiet");
  makeDatabase(join(dir, "app.db"), { rows: 300, payloadBytes: 100 });
  await ok(dir, "backup", "app", "--quiet");
  await ok(dir, "verify", "app", "--quiet");
  const shop = parseJson((await ok(dir, "list", "shop", "--json")).stdout).backups[0];
  writeFileSync(shop.file, "damaged");
  expect((await runCli(["verify", "shop", "--quiet"], { cwd: dir })).code).toBe(3);
}

type Event = { event: string; title: string; message: string; problems: string[]; report: any };

describe("sqlbak report --send", () => {
  it("delivers the report to every channel that lists it, with each database, sizes, restore tests, problems", async () => {
    const hook = webhook<Event>();
    const ntfy = listen(200);
    const dir = setup(
      `on = ["report"]\nwebhook = "${hook.url}"\nntfy = "${ntfy.url}"\ncommand = 'printf %s "$SQLBAK_REPORT" > report.json'`,
    );
    await history(dir);
    // Health problems and failed verifications were not sent: only "report" is in `on`.
    expect([hook.events, ntfy.received]).toEqual([[], []]);

    const r = await runCli(["report", "--send"], { cwd: dir });
    expect([r.code, r.stdout]).toEqual([0, ""]);
    expect(r.stderr).toContain("report sent");
    expect(hook.events).toHaveLength(1);
    const e = hook.events[0]!;
    expect(e.event).toBe("report");
    expect(e.title).toMatch(/^sqlbak weekly report for \S+: \d+ problems?$/);
    expect(e.problems).toEqual([expect.stringMatching(/^shop: last verification failed/)]);
    // The text an admin reads: each database, its sizes, its last restore test and the problems.
    expect(e.message).toMatch(/^app\n {2}backups +2 taken; 2 kept in all$/m);
    expect(e.message).toMatch(/^shop\n {2}backups +1 taken; 1 kept in all$/m);
    expect(e.message).toMatch(/^ {2}size +\d+(\.\d)? KiB \(\+\d+(\.\d)? KiB since .*\)$/m);
    expect(e.message).toMatch(/^ {2}stored +\d+(\.\d)? KiB in all, \d+(\.\d)? KiB added in the window$/m);
    expect(e.message).toMatch(/^ {2}restore test +ok \(quick\) .* {2}app-\S+$/m);
    expect(e.message).toMatch(/^ {2}restore test +FAILED \(quick\) .* {2}shop-\S+: .+$/m);
    expect(e.message).toMatch(/^ {2}destinations +nas: in sync \(2 copies\)$/m);
    expect(e.message).toMatch(/^disk: .* free of /m);
    expect(e.message).toContain(`problems:\n  - ${e.problems[0]}\n`);
    // …and the same facts as JSON.
    const [app, shop] = e.report.databases;
    expect(app).toMatchObject({
      database: "app",
      backups: { taken: 2, kept: 2 },
      last_restore_test: { ok: true, level: "quick" },
      destinations: [{ destination: "nas", state: "in sync" }],
      problems: [],
    });
    expect(app.size.growth_bytes).toBeGreaterThan(0);
    expect(app.size.raw_bytes).toBeGreaterThan(app.size.raw_bytes_before);
    expect(shop).toMatchObject({ database: "shop", last_verification: { ok: false }, problems: e.problems });
    expect(e.report.volume.free_bytes).toBeGreaterThan(0);

    expect(ntfy.received).toHaveLength(1);
    expect(ntfy.received[0]!.headers).toMatchObject({ title: e.title, priority: "default", tags: "bar_chart" });
    expect(ntfy.received[0]!.body).toBe(e.message);
    const fromCommand = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
    expect(fromCommand.databases.map((d: { database: string }) => d.database)).toEqual(["app", "shop"]);
  });

  it("refuses (exit 2) when no channel lists the report, and contacts nobody", async () => {
    const hook = webhook<Event>();
    const dir = setup(`webhook = "${hook.url}"`);
    const r = await runCli(["report", "--send"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no notification channel gets the "report" event');
    expect(r.stderr).toContain('add "report" to [notify] on');
    expect(hook.events).toEqual([]);
  });

  it("exits 1 when a channel fails after its retry, still delivering to the others, and logs it", async () => {
    const down = listen(503);
    const hook = webhook<Event>();
    const dir = setup(`on = ["report"]\nwebhook = "${hook.url}"\nntfy = "${down.url}"`);
    await ok(dir, "backup", "--quiet");
    const r = await runCli(["report", "--send", "--json"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(parseJson(r.stdout)).toMatchObject({
      databases: [{ database: "app" }, { database: "shop" }],
      delivery: { channels: ["ntfy", "webhook"], failures: ["ntfy notification failed: HTTP 503"] },
    });
    expect(r.stderr).toContain("ntfy notification failed: HTTP 503");
    expect(r.stderr).toContain("report not delivered to 1 of 2 channel(s)");
    expect(down.received).toHaveLength(2); // the attempt and its retry
    expect(hook.events.map((e) => e.event)).toEqual(["report"]);
    const log = readFileSync(join(dir, "backups", "sqlbak.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    // Every delivery is logged; the failed one names its channel.
    expect(log.filter((l) => l.op === "notify" && !l.ok)).toMatchObject([
      { op: "notify", event: "report", ok: false, type: "ntfy" },
    ]);
  });
});

describe("sqlbak report", () => {
  it("prints the text on stdout and exits 0 even with problems; --json has a stable shape", async () => {
    const dir = setup("");
    await history(dir);
    const text = await runCli(["report"], { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^sqlbak weekly report for \S+: 1 problem\n/);
    expect(text.stdout).toContain("\napp\n");
    expect(text.stdout).toContain("\nshop\n");

    const j = await runCli(["report", "--json", "--days", "30"], { cwd: dir });
    expect(j.code).toBe(0);
    const facts = parseJson(j.stdout);
    expect(Object.keys(facts).sort()).toEqual([
      "databases",
      "generated_at",
      "healthy",
      "host",
      "problems",
      "totals",
      "version",
      "volume",
      "window",
    ]);
    expect(facts.window.days).toBe(30);
    expect(Date.parse(facts.window.to) - Date.parse(facts.window.from)).toBe(30 * 86_400_000);
    expect(facts.healthy).toBe(false);
    expect(Object.keys(facts.databases[0]).sort()).toEqual([
      "backups",
      "database",
      "destinations",
      "failures",
      "last_restore_test",
      "last_verification",
      "newest",
      "problems",
      "size",
      "verifications",
    ]);
    expect(Object.keys(facts.databases[0].size).sort()).toEqual([
      "added_bytes",
      "before_at",
      "growth_bytes",
      "raw_bytes",
      "raw_bytes_before",
      "stored_bytes",
    ]);
    expect(facts.totals).toMatchObject({ databases: 2, backups_taken: 3 });
    expect(Object.keys(facts.volume).sort()).toEqual(["free_bytes", "free_percent", "path", "total_bytes"]);

    // A pre-restore backup (asked for) of another (smaller) file is a backup taken, but not app's size.
    const before = facts.databases[0];
    makeDatabase(join(dir, "other.db"), { rows: 1 });
    await ok(
      dir,
      "restore",
      "app",
      "--latest",
      "--to",
      "other.db",
      "--force",
      "--pre-restore",
      "backup",
      "--yes",
      "--quiet",
    );
    const after = parseJson((await ok(dir, "report", "--json", "--local")).stdout).databases[0];
    expect(after.backups).toMatchObject({ kept: before.backups.kept + 1 });
    expect(after.newest).toEqual({ ...before.newest, age_ms: expect.any(Number) });
    expect(after.size).toMatchObject({ raw_bytes: before.size.raw_bytes, growth_bytes: before.size.growth_bytes });

    const one = parseJson((await runCli(["report", "shop", "--json", "--local"], { cwd: dir })).stdout);
    expect(one.databases.map((d: { database: string }) => d.database)).toEqual(["shop"]);
    expect(one.databases[0].destinations).toEqual([]);
  });

  it("refuses a --days that is not a whole number of days from 1 to 366", async () => {
    const dir = setup("");
    for (const days of ["0", "1.5", "x", "367"]) {
      const r = await runCli(["report", "--days", days], { cwd: dir });
      expect([r.code, r.stdout]).toEqual([2, ""]);
      expect(r.stderr).toContain(`--days "${days}": expected a whole number of days from 1 to 366`);
    }
  });
});
