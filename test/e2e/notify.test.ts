/** `sqlbak notify [--test] [CHANNEL]` through the binary, and a failing channel as a `stats --check` problem. */
import { afterEach, describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProject } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";

const stops: (() => void)[] = [];
afterEach(() => {
  while (stops.length) stops.pop()!();
});

/** A webhook answering with `status.value` (changeable mid-test), recording every body. */
function hook() {
  const status = { value: 200 };
  const bodies: { event: string; message: string }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      bodies.push((await req.json()) as { event: string; message: string });
      return new Response("", { status: status.value });
    },
  });
  stops.push(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}/h`, bodies, status };
}

function project(toml: string) {
  return makeProject({ toml: `[notify]\ntimeout = "2s"\n${toml}` });
}

describe("notify --test", () => {
  it("sends a test event to every channel whatever its `on`, and reports each", async () => {
    const a = hook();
    const b = hook();
    const p = project(
      `[[notify.channel]]\nname = "ops"\ntype = "webhook"\nurl = "${a.url}"\non = ["backup.success"]\n` +
        `[[notify.channel]]\nname = "chat"\ntype = "slack"\nurl_env = "CHAT_URL"\n`,
    );
    const r = await runCli(["notify", "--test"], { cwd: p.dir, env: { CHAT_URL: b.url } });
    expect(r.code).toBe(0);
    expect(a.bodies).toEqual([expect.objectContaining({ event: "test" })]);
    expect(b.bodies).toHaveLength(1);
    expect(r.stderr).toContain("ops (webhook): test event delivered to http://127.0.0.1:");
    // A URL from the environment is named by its variable, never shown.
    expect(r.stderr).toContain("chat (slack): test event delivered to $CHAT_URL");
    expect(r.stderr).not.toContain(b.url);
  });

  it("tests one named channel only, and exits 1 naming each channel that failed", async () => {
    const a = hook();
    const b = hook();
    b.status.value = 500;
    const p = project(
      `[[notify.channel]]\nname = "ops"\ntype = "webhook"\nurl = "${a.url}"\n` +
        `[[notify.channel]]\nname = "broken"\ntype = "discord"\nurl = "${b.url}"\n`,
    );
    const one = await runCli(["notify", "--test", "ops"], { cwd: p.dir });
    expect(one.code).toBe(0);
    expect(a.bodies).toHaveLength(1);
    expect(b.bodies).toHaveLength(0);
    const all = await runCli(["notify", "--test", "--json"], { cwd: p.dir });
    expect(all.code).toBe(1);
    expect(all.stderr).toContain("broken (discord): FAILED: HTTP 500");
    expect(all.stderr).toContain("1 of 2 channels failed the test");
    expect(parseJson(all.stdout).results).toEqual([
      { channel: "ops", type: "webhook", event: "test", ok: true },
      { channel: "broken", type: "discord", event: "test", ok: false, error: "HTTP 500" },
    ]);
    expect(b.bodies).toHaveLength(2); // retried once
  });

  it("refuses an unknown channel, and a config without channels, with exit 2", async () => {
    const a = hook();
    const p = project(`webhook = "${a.url}"`);
    const r = await runCli(["notify", "--test", "nope"], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown channel "nope"');
    expect(r.stderr).toContain("channels: webhook");
    const none = makeProject();
    const n = await runCli(["notify", "--test"], { cwd: none.dir });
    expect(n.code).toBe(2);
    expect(n.stderr).toContain("no notification channel is configured");
    expect(n.stderr).not.toContain("    at ");
  });

  it("lists the channels with their events when run without --test", async () => {
    const p = project(`on = ["failure"]\nwebhook = "http://127.0.0.1:9/h"\n`);
    const r = await runCli(["notify", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).channels).toEqual([
      {
        name: "webhook",
        type: "webhook",
        target: "http://127.0.0.1:9",
        on: ["backup.failure", "copy.failure", "verify.failure"],
      },
    ]);
  });
});

describe("a failing channel", () => {
  it("never changes the backup's exit code, is logged, and is a stats --check problem until a delivery gets through", async () => {
    const a = hook();
    a.status.value = 503;
    const p = project(
      `on = ["success", "failure"]\n[[notify.channel]]\nname = "ops"\ntype = "webhook"\nurl = "${a.url}"\n`,
    );
    const b = await runCli(["backup"], { cwd: p.dir });
    expect(b.code).toBe(0);
    expect(b.stderr).toContain("ops (webhook) notification failed: HTTP 503");
    const log = readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8");
    expect(log).toContain('"op":"notify","channel":"ops","type":"webhook","event":"backup.success"');
    const check = await runCli(["stats", "--check", "--local"], { cwd: p.dir });
    expect(check.code).toBe(3);
    expect(check.stdout).toMatch(
      /^notification channel "ops": the last delivery failed at \S+ \(backup\.success\): HTTP 503 \(check it with `sqlbak notify --test ops`\)$/m,
    );
    a.status.value = 200;
    expect((await runCli(["notify", "--test", "ops"], { cwd: p.dir })).code).toBe(0);
    const again = await runCli(["stats", "--check", "--local"], { cwd: p.dir });
    expect(again.stdout.trim()).toBe("healthy");
    expect(again.code).toBe(0);
  });

  it("never changes the exit code of verify or restore either", async () => {
    const a = hook();
    a.status.value = 500;
    const p = project(`[[notify.channel]]\nname = "ops"\ntype = "webhook"\nurl = "${a.url}"\non = ["all"]\n`);
    expect((await runCli(["backup"], { cwd: p.dir })).code).toBe(0);
    const v = await runCli(["verify"], { cwd: p.dir });
    expect(v.code).toBe(0);
    expect(v.stderr).toContain("ops (webhook) notification failed: HTTP 500");
    const r = await runCli(["restore", "app", "--latest", "--yes"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("ops (webhook) notification failed: HTTP 500");
    expect(a.bodies.map((e) => e.event)).toContain("restore");
  });

  it("a channel removed from the config is no longer a problem", async () => {
    const p = project(
      `[[notify.channel]]\nname = "ops"\ntype = "webhook"\nurl = "http://127.0.0.1:9/h"\non = ["all"]\n`,
    );
    expect((await runCli(["backup"], { cwd: p.dir })).code).toBe(0);
    expect((await runCli(["stats", "--check", "--local"], { cwd: p.dir })).stdout).toContain(
      'notification channel "ops"',
    );
    const toml = readFileSync(join(p.dir, "sqlbak.toml"), "utf8").replace(
      /\[\[notify\.channel\]\][\s\S]*?(?=\[\[database\]\])/,
      "",
    );
    writeFileSync(join(p.dir, "sqlbak.toml"), toml);
    const r = await runCli(["stats", "--check", "--local"], { cwd: p.dir });
    expect(r.stdout.trim()).toBe("healthy");
    expect(r.code).toBe(0);
  });
});
