/** Notifications against real listeners on 127.0.0.1 and a real command. */
import { afterEach, describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ChannelConfig, EventType, NotifyConfig } from "../../src/lib/config/notify.ts";
import { makeNotification, type Notification } from "../../src/lib/notify/event.ts";
import { notify as deliverAll } from "../../src/lib/notify/send.ts";
import { tempDir } from "../helpers/tmp.ts";

interface Received {
  method: string;
  headers: Record<string, string>;
  body: string;
}

const servers: { stop(force?: boolean): void }[] = [];
afterEach(() => {
  while (servers.length) servers.pop()!.stop(true);
});

/** A listener on 127.0.0.1 answering every request with `status` (or never, when null). */
function listen(status: number | null) {
  const received: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      received.push({ method: req.method, headers: Object.fromEntries(req.headers), body: await req.text() });
      if (status === null) return new Promise<Response>(() => {});
      return new Response("", { status });
    },
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}/topic`, received };
}

const failure = () =>
  makeNotification({
    event: "backup.failure",
    title: "sqlbak: backup of app FAILED",
    message: "Backup of app failed: disk full",
    database: "app",
    error: "disk full",
  });

interface LegacyKeys {
  ntfy?: string;
  ntfyToken?: string;
  webhook?: string;
  command?: string;
  commandEnv?: string[];
  secretEnv?: string[];
  timeoutMs?: number;
}

/** The channels the `[notify]` keys make (named after their type), with the default events. */
function cfg(over: LegacyKeys): NotifyConfig & { env: NodeJS.ProcessEnv } {
  const on: EventType[] = ["backup.failure", "copy.failure", "verify.failure", "health.problem"];
  const channels: ChannelConfig[] = [];
  const env = { ...process.env, ...(over.ntfyToken ? { NTFY_TEST_TOKEN: over.ntfyToken } : {}) };
  if (over.ntfy)
    channels.push({
      type: "ntfy",
      name: "ntfy",
      on,
      url: over.ntfy,
      tokenEnv: over.ntfyToken ? "NTFY_TEST_TOKEN" : undefined,
    });
  if (over.webhook) channels.push({ type: "webhook", name: "webhook", on, url: over.webhook });
  if (over.command)
    channels.push({ type: "command", name: "command", on, command: over.command, commandEnv: over.commandEnv ?? [] });
  return { channels, secretEnv: over.secretEnv ?? [], timeoutMs: over.timeoutMs ?? 2000, env };
}

/** Delivers `n` and returns one warning per failed channel, as the operations print them. */
async function notify(c: ReturnType<typeof cfg>, n: Notification): Promise<string[]> {
  return (await deliverAll(c, n, c.env))
    .filter((d) => !d.ok)
    .map((d) => `${d.channel} notification failed: ${d.error}`);
}

describe("notify", () => {
  it("posts to ntfy with Title, Priority, Tags and the token", async () => {
    const srv = listen(200);
    expect(await notify(cfg({ ntfy: srv.url, ntfyToken: "tk_secret" }), failure())).toEqual([]);
    expect(srv.received).toHaveLength(1);
    const [r] = srv.received;
    expect(r!.method).toBe("POST");
    expect(r!.body).toBe("Backup of app failed: disk full");
    expect(r!.headers).toMatchObject({
      title: "sqlbak: backup of app FAILED",
      priority: "high",
      tags: "rotating_light",
      authorization: "Bearer tk_secret",
    });
  });

  it("posts the documented JSON body to a webhook", async () => {
    const srv = listen(204);
    const n = failure();
    expect(await notify(cfg({ webhook: srv.url }), n)).toEqual([]);
    expect(srv.received[0]!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(srv.received[0]!.body)).toEqual({ ...n });
    expect(Object.keys(JSON.parse(srv.received[0]!.body)).sort()).toEqual([
      "database",
      "error",
      "event",
      "host",
      "message",
      "ok",
      "time",
      "title",
      "version",
    ]);
  });

  it("sends nothing for an event that is not enabled", async () => {
    const srv = listen(200);
    const success = makeNotification({ event: "backup.success", title: "t", message: "m" });
    expect(await notify(cfg({ ntfy: srv.url }), success)).toEqual([]);
    expect(srv.received).toHaveLength(0);
  });

  it("retries once, then reports a 503 as a warning", async () => {
    const srv = listen(503);
    expect(await notify(cfg({ webhook: srv.url }), failure())).toEqual(["webhook notification failed: HTTP 503"]);
    expect(srv.received).toHaveLength(2);
  });

  it("gives up on a listener that never answers, after the timeout and one retry", async () => {
    const srv = listen(null);
    expect(await notify(cfg({ ntfy: srv.url, timeoutMs: 300 }), failure())).toEqual([
      "ntfy notification failed: timed out after 300 ms",
    ]);
    expect(srv.received).toHaveLength(2);
  });

  it("runs the command with the event in SQLBAK_* variables", async () => {
    const out = join(tempDir(), "env.txt");
    const warnings = await notify(cfg({ command: `env | grep ^SQLBAK_ | sort > '${out}'` }), failure());
    expect(warnings).toEqual([]);
    const env = readFileSync(out, "utf8");
    expect(env).toContain("SQLBAK_EVENT=backup.failure\n");
    expect(env).toContain("SQLBAK_DATABASE=app\n");
    expect(env).toContain("SQLBAK_ERROR=disk full\n");
    expect(env).toContain("SQLBAK_TITLE=sqlbak: backup of app FAILED\n");
  });

  it(`never hands the command a variable the config reads a secret from, \
even one named like an ordinary variable`, async () => {
    const out = join(tempDir(), "env.txt");
    const before = { ...process.env };
    Object.assign(process.env, {
      LC_SECRET_PASS: "hunter2",
      LC_TIME: "C",
      AWS_PROFILE: "prod",
      LISTED: "yes",
      UNLISTED: "no",
    });
    try {
      const c = cfg({
        command: `env > '${out}'`,
        commandEnv: ["LISTED", "AWS_PROFILE"],
        secretEnv: ["LC_SECRET_PASS"],
      });
      expect(await notify(c, failure())).toEqual([]);
    } finally {
      for (const k of ["LC_SECRET_PASS", "LC_TIME", "AWS_PROFILE", "LISTED", "UNLISTED"]) {
        if (before[k] === undefined) delete process.env[k];
        else process.env[k] = before[k];
      }
    }
    const lines = readFileSync(out, "utf8").split("\n");
    expect(lines).toContain("LC_TIME=C");
    expect(lines).toContain("LISTED=yes");
    expect(lines).toContain("SQLBAK_EVENT=backup.failure");
    expect(lines.filter((l) => /^(LC_SECRET_PASS|AWS_PROFILE|UNLISTED)=/.test(l))).toEqual([]);
  });

  it("reports a failing command with its exit code and first stderr line", async () => {
    expect(await notify(cfg({ command: "echo nope >&2; exit 3" }), failure())).toEqual([
      "command notification failed: exited 3: nope",
    ]);
  });
});
