/** `stats` and `stats --check` through the compiled binary, each problem produced for real. */
import { describe, expect, it } from "bun:test";
import { mkdirSync, readFileSync, renameSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { fabricateBackups } from "../helpers/fabricate.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { itWithTmpfs, mountTmpfs, unmountTmpfs } from "../helpers/tmpfs.ts";

const DAY_MS = 86_400_000;

function setup(toml = "", names = ["app"]) {
  const dir = tempDir();
  let dbs = "";
  for (const n of names) {
    makeDatabase(join(dir, `${n}.db`), { rows: 20 });
    dbs += `[[database]]\nname = "${n}"\npath = "${n}.db"\n`;
  }
  writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "backups"\n${toml}\n${dbs}`);
  return dir;
}

async function backupOne(dir: string, ...args: string[]) {
  const r = await runCli(["backup", "--json", ...args], { cwd: dir });
  expect(r.code).toBe(0);
  return parseJson(r.stdout).results[0] as { manifest_path: string; data_path: string; id: string };
}

function editManifest(path: string, edit: (m: Record<string, any>) => void) {
  const m = JSON.parse(readFileSync(path, "utf8"));
  edit(m);
  writeFileSync(path, JSON.stringify(m));
}

describe("sqlbak stats", () => {
  it("reports an empty setup, and --check calls it unhealthy", async () => {
    const dir = tempDir();
    const s = await runCli(["stats", "--json"], { cwd: dir });
    expect(s.code).toBe(0);
    expect(parseJson(s.stdout)).toMatchObject({
      databases: [],
      totals: { databases: 0, backups: 0, stored_bytes: 0 },
    });
    const c = await runCli(["stats", "--check"], { cwd: dir });
    expect(c.code).toBe(3);
    expect(c.stdout).toContain("no databases");
  });

  it("summarises several databases with a stable JSON shape", async () => {
    const dir = setup("", ["app", "shop"]);
    await backupOne(dir, "app");
    await backupOne(dir, "app");
    await backupOne(dir, "shop", "--kind", "scheduled");
    const s = await runCli(["stats", "--json"], { cwd: dir });
    expect(s.code).toBe(0);
    const report = parseJson(s.stdout);
    expect(Object.keys(report).sort()).toEqual([
      "backup_dir",
      "databases",
      "generated_at",
      "totals",
      "version",
      "volume",
    ]);
    expect(report.totals).toMatchObject({ databases: 2, backups: 3 });
    const [app, shop] = report.databases;
    expect(Object.keys(app).sort()).toEqual([
      "added_bytes_newest",
      "compression_ratio",
      "configured",
      "count",
      "database",
      "failed_backups",
      "failures_since_success",
      "future_dated",
      "last_backup_run",
      "last_restore_test",
      "last_verification",
      "newest",
      "newest_own",
      "oldest",
      "partials",
      "pre_restore_files",
      "raw_bytes",
      "raw_bytes_newest",
      "saved_bytes",
      "skipped_manifests",
      "stored_bytes",
      "stored_bytes_newest",
    ]);
    expect(app).toMatchObject({
      database: "app",
      configured: true,
      count: { manual: 2, scheduled: 0, total: 2 },
      last_backup_run: { ok: true },
    });
    expect(shop.count).toMatchObject({ scheduled: 1, total: 1 });
    expect(report.volume.free_bytes).toBeGreaterThan(0);
    const text = await runCli(["stats"], { cwd: dir });
    expect(text.stdout).toMatch(/^app\n {2}backups +2 \(scheduled 0, manual 2, pre-restore 0\)/);
    expect(text.stdout).toContain("total: 2 databases, 3 backups");
    expect((await runCli(["stats", "--check"], { cwd: dir })).stdout).toBe("healthy\n");
    const quiet = await runCli(["stats", "--check", "--quiet"], { cwd: dir });
    expect([quiet.code, quiet.stdout]).toEqual([0, ""]);
  });
});

describe("sqlbak stats --check", () => {
  it("flags a configured database with no backups", async () => {
    const r = await runCli(["stats", "--check"], { cwd: setup() });
    expect([r.code, r.stdout]).toEqual([3, "app: no backups\n"]);
  });

  it("does not count a pre-restore copy of another file as a fresh backup (issue 14 §10)", async () => {
    const dir = setup(`max_age = "1d"`);
    const b = await backupOne(dir, "app");
    makeDatabase(join(dir, "other.db"), { rows: 3 });
    const r = await runCli(
      ["restore", "app", "--latest", "--to", "other.db", "--force", "--pre-restore", "backup", "--yes"],
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    editManifest(b.manifest_path, (m) => (m.created_at = new Date(Date.now() - 2 * DAY_MS).toISOString()));
    const c = await runCli(["stats", "--check"], { cwd: dir });
    expect([c.code, c.stdout]).toEqual([3, "app: newest backup is 2d old (max_age 24h)\n"]);
    const s = parseJson((await runCli(["stats", "--json"], { cwd: dir })).stdout).databases[0];
    expect(s.count["pre-restore"]).toBe(1);
    expect(s.newest_own.id).toBe(b.id);
  });

  it("flags a newest backup older than max_age", async () => {
    const dir = setup(`max_age = "1d"`);
    const b = await backupOne(dir);
    editManifest(b.manifest_path, (m) => (m.created_at = new Date(Date.now() - 2 * DAY_MS).toISOString()));
    const r = await runCli(["stats", "--check"], { cwd: dir });
    expect([r.code, r.stdout]).toEqual([3, "app: newest backup is 2d old (max_age 24h)\n"]);
  });

  it("never counts a future-dated backup (a wrong clock) as the newest or fresh, and flags it", async () => {
    // Bug: a backup dated 2099 was "newest" with a negative age, so a stale database looked healthy.
    const dir = setup(`max_age = "1d"`);
    const real = await backupOne(dir);
    editManifest(real.manifest_path, (m) => (m.created_at = new Date(Date.now() - 2 * DAY_MS).toISOString()));
    const [future] = fabricateBackups(real.manifest_path, join(dir, "backups", "app"), "app", [
      { at: "2099-01-01T00:00:00Z" },
    ]);
    const r = await runCli(["stats", "--check"], { cwd: dir });
    expect(r.stdout).toContain("app: newest backup is 2d old (max_age 24h)\n");
    expect(r.stdout).toMatch(
      new RegExp(
        `app: backup ${future!.id} is dated 2099-01-01T00:00:00.000Z, [\\dd hms]+ in the future \\(the clock was wrong`,
      ),
    );
    expect(r.code).toBe(3);
    const report = parseJson((await runCli(["stats", "--json"], { cwd: dir })).stdout);
    expect(report.databases[0].newest.id).toBe(real.id);
    expect(report.databases[0].future_dated).toEqual([
      expect.objectContaining({ id: future!.id, created_at: "2099-01-01T00:00:00.000Z" }),
    ]);
    expect((await runCli(["stats"], { cwd: dir })).stdout).toMatch(
      new RegExp(`\\n  future +1 dated after now \\(wrong clock\\?\\), e\\.g\\. ${future!.id}\\n`),
    );
  });

  it("flags a failed verification in the history", async () => {
    const dir = setup();
    const b = await backupOne(dir);
    editManifest(b.manifest_path, (m) =>
      m.verifications.push({
        at: new Date().toISOString(),
        level: "full",
        ok: false,
        problems: ["integrity_check: page 3 is never used"],
      }),
    );
    const r = await runCli(["stats", "--check"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      new RegExp(`^app: last verification failed \\(${b.id}, 0s ago\\): integrity_check: page 3 is never used\\n$`),
    );
  });

  it(`remembers a backup whose latest verification failed after a newer one verifies OK, \
until it is removed (issue 14 §6)`, async () => {
    // Bug: health looked only at the database's last verification, so verifying a newer backup OK hid the corrupt one.
    const dir = setup();
    const older = await backupOne(dir);
    const newer = await backupOne(dir);
    const buf = readFileSync(older.data_path);
    buf[buf.length - 20] = buf[buf.length - 20]! ^ 0xff;
    writeFileSync(older.data_path, buf);
    expect((await runCli(["verify", older.id], { cwd: dir })).code).not.toBe(0);
    expect((await runCli(["verify", newer.id], { cwd: dir })).code).toBe(0);
    const r = await runCli(["stats", "--check"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      new RegExp(
        `^app: backup ${older.id}: latest verification failed \\(\\d+s ago\\): ` +
          // "stored file" for a self-contained backup, "map file <name>" for an incremental one.
          "(stored file|map file \\S+) sha256 \\w+… does not match the manifest's",
        "m",
      ),
    );
    expect(r.stdout).not.toContain(newer.id);
    const s = parseJson((await runCli(["stats", "--json"], { cwd: dir })).stdout).databases[0];
    expect(s.failed_backups).toEqual([expect.objectContaining({ id: older.id, reason: "failed verification" })]);
    expect((await runCli(["stats"], { cwd: dir })).stdout).toMatch(
      new RegExp(`\\n  bad +${older.id} \\(failed verification: (stored file|map file \\S+) sha256`),
    );
    unlinkSync(older.manifest_path);
    unlinkSync(older.data_path);
    const after = await runCli(["stats", "--check"], { cwd: dir });
    expect([after.code, after.stdout]).toEqual([0, "healthy\n"]);
  });

  it("keeps naming a backup whose data file is missing", async () => {
    const dir = setup();
    const older = await backupOne(dir);
    const newer = await backupOne(dir);
    unlinkSync(older.data_path);
    expect((await runCli(["verify", newer.id], { cwd: dir })).code).toBe(0);
    const r = await runCli(["stats", "--check"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`app: backup ${older.id}: data missing`);
    const s = parseJson((await runCli(["stats", "--json"], { cwd: dir })).stdout).databases[0];
    expect(s.failed_backups).toEqual([expect.objectContaining({ id: older.id, reason: "data missing" })]);
  });

  it("flags a failed last backup run, from the operation log", async () => {
    const dir = setup();
    await backupOne(dir);
    renameSync(join(dir, "app.db"), join(dir, "moved.db"));
    expect((await runCli(["backup"], { cwd: dir })).code).toBe(1);
    const r = await runCli(["stats", "--check"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /^app: last backup run failed at \S+: cannot open database .*app\.db: no such file or directory\n$/,
    );
  });

  it("flags partial files older than a day", async () => {
    const dir = setup();
    await backupOne(dir);
    const partial = join(dir, "backups", "app", ".app-20260101T000000000Z-00000000.sqlite.zst.1234abcd.tmp");
    writeFileSync(partial, "x");
    const old = new Date(Date.now() - 2 * DAY_MS);
    utimesSync(partial, old, old);
    const r = await runCli(["stats", "--check"], { cwd: dir });
    expect([r.code, r.stdout]).toEqual([3, `app: 1 partial file(s) older than a day, e.g. ${partial}\n`]);
  });

  it("flags an unreadable manifest by its backup, and never counts its data as a partial", async () => {
    const dir = setup();
    const b = await backupOne(dir);
    await backupOne(dir);
    writeFileSync(b.manifest_path, "{ not json");
    const old = new Date(Date.now() - 2 * DAY_MS);
    utimesSync(b.data_path, old, old);
    const r = await runCli(["stats", "--check"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stdout.trim().split("\n")).toEqual([expect.stringMatching(/: unexpected|JSON|parse/i)]);
    expect(r.stdout).toStartWith(`app: unreadable backup ${b.id}: ${b.manifest_path}: `);
  });

  itWithTmpfs(import.meta.path, "flags a backup volume that is too small for the next backup", async () => {
    const dir = tempDir();
    makeDatabase(join(dir, "app.db"), { rows: 60, payloadBytes: 4096 });
    const backups = join(dir, "backups");
    mkdirSync(backups);
    // ~260 KiB of incompressible rows: one backup fits in 640 KiB (snapshot + copy), a second would not.
    // The estimate is for self-contained files (each stores the whole image again): incremental = false.
    mountTmpfs(backups, "640k");
    try {
      writeFileSync(
        join(dir, "sqlbak.toml"),
        `backup_dir = "backups"\nincremental = false\nmin_free_space = "1%"\n[[database]]\nname = "app"\npath = "app.db"\n`,
      );
      await backupOne(dir);
      const r = await runCli(["stats", "--check"], { cwd: dir });
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/^backup volume of .* free; the next backups need about .*\n$/);
    } finally {
      unmountTmpfs(backups);
    }
  });

  it("flags a backup volume with less free space than min_free_space", async () => {
    const dir = tempDir();
    makeDatabase(join(dir, "app.db"), { rows: 60, payloadBytes: 4096 });
    writeFileSync(
      join(dir, "sqlbak.toml"),
      `backup_dir = "backups"\nmin_free_space = "1000000GiB"\n[[database]]\nname = "app"\npath = "app.db"\n`,
    );
    await backupOne(dir);
    const r = await runCli(["stats", "--check"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/below min_free_space/);
  });

  it("sends a health notification to the webhook when unhealthy", async () => {
    const received: any[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => (received.push(await req.json()), new Response("ok")),
    });
    try {
      const dir = setup(`[notify]\nwebhook = "http://127.0.0.1:${server.port}/hook"`);
      const r = await runCli(["stats", "--check"], { cwd: dir });
      expect(r.code).toBe(3);
      expect(received).toEqual([expect.objectContaining({ event: "health.problem", problems: ["app: no backups"] })]);
    } finally {
      server.stop(true);
    }
  });
});

describe("backup notifications", () => {
  it("reports success and failure to a webhook; a 503 only warns", async () => {
    const received: any[] = [];
    let status = 200;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => (received.push(await req.json()), new Response("", { status })),
    });
    try {
      const dir = setup(
        `[notify]\non = ["success", "failure"]\nwebhook = "http://127.0.0.1:${server.port}/hook"\ntimeout = "2s"`,
      );
      const b = await backupOne(dir);
      expect(received).toEqual([
        expect.objectContaining({
          event: "backup.success",
          database: "app",
          id: b.id,
          file: b.data_path,
          path: join(dir, "app.db"),
        }),
      ]);
      expect(received[0].stored_size).toBeGreaterThan(0);

      status = 503;
      const r = await runCli(["backup"], { cwd: dir });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("webhook notification failed: HTTP 503");
      const log = readFileSync(join(dir, "backups", "sqlbak.log.jsonl"), "utf8");
      expect(log).toContain('"op":"notify"');

      status = 200;
      renameSync(join(dir, "app.db"), join(dir, "gone.db"));
      expect((await runCli(["backup"], { cwd: dir })).code).toBe(1);
      expect(received.at(-1)).toMatchObject({
        event: "backup.failure",
        database: "app",
        error: expect.stringContaining("no such file"),
      });
    } finally {
      server.stop(true);
    }
  });
});
