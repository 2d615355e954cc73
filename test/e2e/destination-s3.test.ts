/**
 * `[[destination]]` type s3 through the compiled binary, against a real
 * S3-compatible server (s3rver) on 127.0.0.1 started here: copy after backup,
 * the disaster restore, rotation at the destination, a wrong key, catch-up.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { S3Client } from "bun";
import { listBackups, makeProject, type Project, rows } from "../helpers/backups.ts";
import { fabricateBackups } from "../helpers/fabricate.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { S3_KEY, type S3Server, s3DestinationToml, startS3 } from "../helpers/s3.ts";
import { tempDir } from "../helpers/tmp.ts";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.stop();
});

/** Each test gets its own key prefix, so tests never see each other's objects. */
let prefixSeq = 0;
function project(extraToml = "", dbToml = ""): Project & { prefix: string } {
  const prefix = `t${++prefixSeq}-${Date.now()}`;
  const dest = s3DestinationToml(s3).replace('prefix = "sqlbak/prod"', `prefix = "${prefix}"`);
  return { ...makeProject({ toml: extraToml, dbToml: `${dbToml}\n${dest}` }), prefix };
}

/** The developer's own AWS variables must not leak into "no credentials" cases. */
const NO_KEY = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined };
const cli = (p: Project, args: string[], env: Record<string, string | undefined> = S3_KEY) =>
  runCli(args, { cwd: p.dir, env });
const bucket = () =>
  new S3Client({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: S3_KEY.AWS_ACCESS_KEY_ID,
    secretAccessKey: S3_KEY.AWS_SECRET_ACCESS_KEY,
    region: "us-east-1",
  });
async function remoteKeys(prefix: string): Promise<string[]> {
  const page = await bucket().list({ prefix: `${prefix}/` });
  return (page.contents ?? []).map((o) => o.key.slice(prefix.length + 1)).sort();
}
/** The local folder's files that go to a destination: all but the lock and the local id key (`.sqlbak-*`). */
const shipped = (folder: string) =>
  readdirSync(folder)
    .filter((n) => !n.startsWith(".sqlbak-"))
    .sort();

async function listFrom(p: Project): Promise<{ id: string; kind: string; file: string }[]> {
  const r = await cli(p, ["list", "--from", "offsite", "--json"]);
  if (r.code !== 0) throw new Error(`list --from failed: ${r.stderr}`);
  return parseJson(r.stdout).backups;
}

describe("s3 destination", () => {
  it(`copies each backup after it is complete (data and manifest, same names), \
and lists it with list --from`, async () => {
    const p = project();
    const r = await cli(p, ["backup", "app", "--json"]);
    expect(r.code).toBe(0);
    const [result] = parseJson(r.stdout).results;
    expect(result.copies).toEqual([
      expect.objectContaining({
        destination: "offsite",
        ok: true,
        uploaded: [result.id],
      }),
    ]);
    expect(r.stderr).toContain(`app → offsite: copied 1 backup`);
    // Its manifest and data file (an incremental backup's map), plus the packs, their indexes and the id key
    // copy it shares: every file of backup_dir's folder but the local-only ones, byte for byte.
    const names = shipped(p.folder);
    expect(names).toEqual(expect.arrayContaining([`${result.id}.json`, basename(result.data_path)]));
    expect(await remoteKeys(p.prefix)).toEqual(names.map((n) => `app/${n}`));
    for (const n of names) {
      const remote = new Uint8Array(await bucket().file(`${p.prefix}/app/${n}`).arrayBuffer());
      expect(Buffer.from(remote).equals(readFileSync(join(p.folder, n)))).toBe(true);
    }
    const dataAndPieces = names.filter((n) => !n.endsWith(".json"));
    expect(result.copies[0].uploaded_bytes).toBe(
      dataAndPieces.reduce((sum, n) => sum + statSync(join(p.folder, n)).size, 0),
    );
    const listed = await listFrom(p);
    expect(listed.map((b) => b.id)).toEqual([result.id]);
    expect(listed[0]!.file).toBe(`s3://${s3.bucket}/${p.prefix}/app/${basename(result.data_path)}`);
    const again = await cli(p, ["backup", "app"]);
    expect(again.stderr).toContain("app → offsite: copied 1 backup");
    expect(again.stderr).toContain("1 already there");
  });

  it(`disaster: backup_dir is lost; \
a fresh folder with only the config and the key restores with restore --from`, async () => {
    const p = project();
    expect((await cli(p, ["backup", "app"], NO_KEY)).code).toBe(0); // no key: its copy fails, the local backup stands
    const b = await cli(p, ["backup", "app", "--json"]);
    expect(b.code).toBe(0);
    const newest = parseJson(b.stdout).results[0].id;
    const want = rows(p.db, "SELECT count(*) AS n, sum(length(payload)) AS bytes FROM items");

    // A new machine: the same config file, no backups, no database.
    const fresh = tempDir();
    writeFileSync(join(fresh, "sqlbak.toml"), readFileSync(join(p.dir, "sqlbak.toml")));
    const q: Project = { dir: fresh, db: join(fresh, "app.db"), folder: join(fresh, "backups", "app") };
    expect(existsSync(join(fresh, "backups"))).toBe(false);
    expect((await listFrom(q)).length).toBe(2);
    const dry = await cli(q, ["restore", "app", "--from", "offsite", "--latest", "--dry-run"]);
    expect(dry.stdout).toContain(`would restore from offsite:`);
    expect(dry.stdout).toContain(newest);
    const r = await cli(q, ["restore", "app", "--from", "offsite", "--latest", "--yes"]);
    expect(r.stderr).toContain(`restored ${newest} to ${q.db} (SHA-256 matches the backup, `);
    expect(r.code).toBe(0);
    expect(rows(q.db, "SELECT count(*) AS n, sum(length(payload)) AS bytes FROM items")).toEqual(want);
    expect(rows(q.db, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
    // The staging folder is gone; nothing but the lock files was left in backup_dir.
    expect(readdirSync(join(fresh, "backups")).filter((n) => n.startsWith("."))).toEqual([]);

    // Without credentials: one clear message, exit 1.
    const noKey = await cli(q, ["list", "--from", "offsite"], NO_KEY);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain("no S3 credentials: $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY not set");
    expect(noKey.stderr).not.toContain("    at ");
  });

  it(`a wrong access key: the local backup succeeds (exit 0), the copy failure is warned, logged and notified; \
the next run catches up`, async () => {
    const p = project(
      `[notify]\non = ["failure"]\n` +
        `command = "printf '%s|%s\\\\n' \\"$SQLBAK_TITLE\\" \\"$SQLBAK_ERROR\\" >> notified.txt"\n`,
    );
    const bad = { ...S3_KEY, AWS_ACCESS_KEY_ID: "WRONGKEY" };
    const r = await cli(p, ["backup", "app", "--json"], bad);
    expect(r.code).toBe(0);
    const [result] = parseJson(r.stdout).results;
    expect(result.ok).toBe(true);
    expect(existsSync(result.manifest_path)).toBe(true);
    expect(result.copies[0]).toMatchObject({ ok: false, uploaded: [] });
    expect(r.stderr).toContain(
      "app → offsite: copy failed: the access key id was rejected; check $AWS_ACCESS_KEY_ID (InvalidAccessKeyId)",
    );
    expect(r.stderr).toContain("the local backup is complete");
    const log = readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(log.find((e) => e.op === "copy")).toMatchObject({
      destination: "offsite",
      database: "app",
      ok: false,
      error: expect.stringContaining("InvalidAccessKeyId"),
    });
    expect(readFileSync(join(p.dir, "notified.txt"), "utf8")).toContain(
      "sqlbak: copy of app to offsite FAILED|the access key id was rejected",
    );
    expect(await remoteKeys(p.prefix)).toEqual([]);

    const check = await cli(p, ["stats", "--check"]);
    expect(check.code).toBe(3);
    expect(check.stdout).toContain(
      "app @ offsite: no copies yet (1 local backup not copied); last copy failed: the access key id was rejected",
    );

    // (s3rver checks only the access key id, never the signature, so a wrong secret cannot be shown here.)
    const next = await cli(p, ["backup", "app", "--json"]);
    const [second] = parseJson(next.stdout).results;
    // newest first, then the one missed
    expect(second.copies[0]).toMatchObject({ ok: true, uploaded: [second.id, result.id] });
    expect((await listFrom(p)).map((b) => b.id)).toEqual([result.id, second.id]);
    const healthy = await cli(p, ["stats", "--check"]);
    expect(healthy.stdout).toBe("healthy\n");
  });

  it("credentials from named variables (access_key_id_env / secret_access_key_env)", async () => {
    const p = project("", "");
    const toml = readFileSync(join(p.dir, "sqlbak.toml"), "utf8").replace(
      'region = "us-east-1"',
      'region = "us-east-1"\naccess_key_id_env = "BK_ID"\nsecret_access_key_env = "BK_SECRET"',
    );
    writeFileSync(join(p.dir, "sqlbak.toml"), toml);
    const missing = await cli(p, ["backup", "app"]); // the standard variables are set, but the config names others
    expect(missing.code).toBe(0);
    expect(missing.stderr).toContain("no S3 credentials: $BK_ID and $BK_SECRET not set");
    const ok = await cli(p, ["backup", "app"], { ...NO_KEY, BK_ID: "S3RVER", BK_SECRET: "S3RVER" });
    expect(ok.stderr).toContain("app → offsite: copied 2 backups");
  });

  it("an interrupted upload (data without manifest, or a partial data file) is completed by the next run", async () => {
    const p = project();
    const first = await cli(p, ["backup", "app", "--json"]);
    const a = parseJson(first.stdout).results[0];
    const second = await cli(p, ["backup", "app", "--json"]);
    const b = parseJson(second.stdout).results[0];
    // What a kill mid-upload leaves: a's manifest never arrived; b's data is there but short, no manifest.
    await bucket().delete(`${p.prefix}/app/${a.id}.json`);
    await bucket().delete(`${p.prefix}/app/${b.id}.json`);
    await bucket().delete(`${p.prefix}/app/${b.id}.sqlite.zst`);
    await bucket().write(`${p.prefix}/app/${b.id}.sqlite.zst`, readFileSync(b.data_path).subarray(0, 100));
    expect(await listFrom(p)).toEqual([]); // no manifest: not a backup there
    const r = await cli(p, ["backup", "app", "--json"]);
    const c = parseJson(r.stdout).results[0];
    expect(c.copies[0]).toMatchObject({ ok: true, uploaded: [c.id, b.id, a.id] });
    expect((await listFrom(p)).map((x) => x.id)).toEqual([a.id, b.id, c.id]);
    const v = await cli(p, ["verify", "--from", "offsite", "--all", "--json"]);
    expect(v.code).toBe(0);
    expect(parseJson(v.stdout).results.map((x: { ok: boolean }) => x.ok)).toEqual([true, true, true]);
  });

  it(`verify --from downloads and checks remote copies: a damaged one fails with exit 3, \
the local copy is untouched`, async () => {
    const p = project();
    const b = await cli(p, ["backup", "app", "--json"]);
    const id = parseJson(b.stdout).results[0].id;
    const key = `${p.prefix}/app/${basename(parseJson(b.stdout).results[0].data_path)}`;
    const data = new Uint8Array(await bucket().file(key).arrayBuffer());
    data[data.length - 10]! ^= 0xff;
    await bucket().delete(key); // s3rver replaces objects non-atomically: remove, then write
    await bucket().write(key, data);
    const v = await cli(p, ["verify", id, "--from", "offsite"]);
    expect(v.code).toBe(3);
    // "stored file" for a self-contained backup, "map file <name>" for an incremental one.
    expect(v.stderr).toMatch(new RegExp(`${id}: FAILED quick verification: (stored file|map file \\S+) sha256`));
    expect((await cli(p, ["verify", id])).code).toBe(0);
    const unknown = await cli(p, ["verify", "--from", "nowhere"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown destination "nowhere"');
    expect(unknown.stderr).toContain("configured destinations: offsite");
  });

  it(`rotate applies the same decisions at the destination, \
and keeps remote copies whose local backup vanished`, async () => {
    const p = project(
      `timezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 2\nkeep_weekly = 0\nkeep_monthly = 0\n`,
    );
    const t = await cli(p, ["backup", "app", "--kind", "scheduled", "--json"]);
    const template = parseJson(t.stdout).results[0];
    const [d9, d8, d7, d6] = fabricateBackups(template.manifest_path, p.folder, "app", [
      { at: "2025-01-09T10:00:00Z" },
      { at: "2025-01-08T10:00:00Z" },
      { at: "2025-01-07T10:00:00Z" },
      { at: "2025-01-06T10:00:00Z" },
    ]);
    expect((await cli(p, ["backup", "app", "--kind", "scheduled"])).stderr).toContain("copied 5 backups");
    // d6 vanishes from backup_dir without sqlbak removing it (a hand-deleted file, a restored old disk).
    unlinkSync(d6!.manifest_path);
    unlinkSync(d6!.data_path);
    // Newest first: T2 (last 1, daily today), T, d9 (daily 2025-01-09), d8, d7, d6: remove T, d8, d7 (and d6).
    const t2 = (await listBackups(p)).at(-1)!.id;
    const sorted = (a: string[]) => [...a].sort();
    const dry = await cli(p, ["rotate", "--dry-run", "--json"]);
    const plan = parseJson(dry.stdout).results[0];
    expect(plan.destinations).toHaveLength(1);
    expect(plan.destinations[0]).toMatchObject({ destination: "offsite", ok: true, kept: 3, kept_only_copy: [d6!.id] });
    expect(sorted(plan.destinations[0].removed)).toEqual(sorted([template.id, d8!.id, d7!.id]));
    expect((await listFrom(p)).length).toBe(6);

    const r = await cli(p, ["rotate", "--json"]);
    expect(r.code).toBe(0);
    const [res] = parseJson(r.stdout).results;
    expect(sorted(res.removed)).toEqual(sorted([template.id, d8!.id, d7!.id]));
    expect(res.destinations[0]).toMatchObject({ ok: true, kept_only_copy: [d6!.id] });
    expect(sorted(res.destinations[0].removed)).toEqual(sorted(res.removed));
    expect(r.stderr).toContain(`app @ offsite: kept 1 the policy would remove, because backup_dir no longer has them`);
    const local = (await listBackups(p)).map((x) => x.id);
    expect(local).toEqual([d9!.id, t2]);
    expect((await listFrom(p)).map((x) => x.id)).toEqual([d6!.id, d9!.id, t2]);
    expect(await remoteKeys(p.prefix)).not.toContain(`app/${d7!.id}.sqlite.zst`);

    // A backup removed locally by a rotation while the destination was unreachable is removed there later.
    const [old] = fabricateBackups(join(p.folder, `${t2}.json`), p.folder, "app", [{ at: "2025-01-05T10:00:00Z" }]);
    await cli(p, ["backup", "app", "--kind", "scheduled"]);
    expect((await listFrom(p)).map((x) => x.id)).toContain(old!.id);
    const offline = await cli(p, ["rotate", "--json"], { ...S3_KEY, AWS_ACCESS_KEY_ID: "WRONGKEY" });
    expect(offline.code).toBe(0); // the local rotation stands; the destination's failure is a warning
    expect(parseJson(offline.stdout).results[0].removed).toContain(old!.id);
    expect(offline.stderr).toContain("app @ offsite: rotation failed: the access key id was rejected");
    const later = await cli(p, ["rotate", "--json"]);
    expect(parseJson(later.stdout).results[0].destinations[0].removed).toContain(old!.id);
    expect((await listFrom(p)).map((x) => x.id)).not.toContain(old!.id);
  });

  it("stats shows per destination counts, sizes and lag; an unreachable destination fails stats --check", async () => {
    const p = project();
    await cli(p, ["backup", "app"]);
    await cli(p, ["backup", "app"], NO_KEY); // local only
    const s = await cli(p, ["stats", "--json"]);
    const report = parseJson(s.stdout);
    expect(report.destinations).toEqual([
      expect.objectContaining({
        destination: "offsite",
        database: "app",
        ok: true,
        count: 1,
        missing: 1,
        partials: 0,
        last_copy: expect.objectContaining({ ok: false }),
      }),
    ]);
    expect(report.destinations[0].lag_ms).toBeGreaterThanOrEqual(0);
    expect(report.destinations[0].stored_bytes).toBeGreaterThan(0);
    const text = await cli(p, ["stats"]);
    expect(text.stdout).toMatch(/app @ offsite\s+1\s+\S+ \S+\s+.* behind, 1 not copied/);
    const down = project();
    writeFileSync(
      join(down.dir, "sqlbak.toml"),
      readFileSync(join(down.dir, "sqlbak.toml"), "utf8").replace(s3.endpoint, "http://127.0.0.1:9"),
    );
    await cli(down, ["backup", "app"]);
    const check = await cli(down, ["stats", "--check"]);
    expect(check.code).toBe(3);
    expect(check.stdout).toContain("app @ offsite: cannot list the destination: cannot connect to http://127.0.0.1:9");
    const local = await cli(down, ["stats", "--check", "--local"]);
    expect(local.stdout).toBe("healthy\n");
  });
});

describe("s3 destination with encryption: losing the whole machine", () => {
  it(`a fresh folder with only the config and the key restores the newest backup; so do an S3 client, \
age -d and zstd -d`, async () => {
    // `age -d | zstd -d` of one object is the promise of self-contained files: incremental = false.
    const p = project("incremental = false");
    const keyFile = join(p.dir, "key.txt");
    expect(Bun.spawnSync(["age-keygen", "-o", keyFile], { stderr: "ignore" }).exitCode).toBe(0);
    const recipient = Bun.spawnSync(["age-keygen", "-y", keyFile]).stdout.toString().trim();
    const config = readFileSync(join(p.dir, "sqlbak.toml"), "utf8").replace(
      "[[database]]",
      `[encryption]\nrecipients = ["${recipient}"]\n\n[[database]]`,
    );
    writeFileSync(join(p.dir, "sqlbak.toml"), config);
    const b = await cli(p, ["backup", "app", "--json"]);
    expect(b.code).toBe(0);
    const [result] = parseJson(b.stdout).results;
    expect(result.copies[0]).toMatchObject({ ok: true, uploaded: [result.id] });
    expect(await remoteKeys(p.prefix)).toEqual([`app/${result.id}.json`, `app/${result.id}.sqlite.zst.age`]);
    const want = rows(p.db, "SELECT count(*) AS n FROM items");

    // The new machine: the config file and the identity, nothing else.
    const fresh = tempDir();
    writeFileSync(join(fresh, "sqlbak.toml"), config);
    const freshKey = join(fresh, "key.txt");
    writeFileSync(freshKey, readFileSync(keyFile));
    const noKey = await runCli(["restore", "app", "--from", "offsite", "--latest", "--yes"], {
      cwd: fresh,
      env: S3_KEY,
    });
    expect(noKey.code).toBe(2);
    expect(existsSync(join(fresh, "app.db"))).toBe(false);
    const r = await runCli(["restore", "app", "--from", "offsite", "--latest", "--yes", "--identity", freshKey], {
      cwd: fresh,
      env: S3_KEY,
    });
    expect(r.code).toBe(0);
    expect(rows(join(fresh, "app.db"), "SELECT count(*) AS n FROM items")).toEqual(want);

    // Without sqlbak: the object from the bucket, `age -d` and `zstd -d`.
    const object = join(fresh, "object.age");
    writeFileSync(
      object,
      new Uint8Array(await bucket().file(`${p.prefix}/app/${result.id}.sqlite.zst.age`).arrayBuffer()),
    );
    const manual = join(fresh, "manual.db");
    const sh = Bun.spawnSync(["sh", "-c", `age -d -i '${freshKey}' '${object}' | zstd -d -q -o '${manual}'`], {
      stderr: "pipe",
    });
    expect(sh.stderr.toString()).toBe("");
    expect(rows(manual, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
    expect(rows(manual, "SELECT count(*) AS n FROM items")).toEqual(want);
  });
});
