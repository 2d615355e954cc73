/**
 * `[encryption]` through the compiled binary: backups in the age format that
 * `age -d` alone can decrypt, verify and restore with `--identity` /
 * `$SQLBAK_AGE_IDENTITY` or a passphrase variable, and clear refusals (missing
 * key: exit 2; wrong key: exit 1, nothing written) each with its message.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  backupNow,
  editManifest,
  exec,
  flipByte,
  listBackups,
  makeProject,
  type Project,
  recordedRawSha256,
  rows,
  sha256File,
} from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";

function sh(cmd: string): string {
  const r = Bun.spawnSync(["sh", "-c", cmd], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd} exited ${r.exitCode}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** A key pair from age-keygen in `dir`. */
function keygen(dir: string, name = "key.txt"): { keyFile: string; recipient: string } {
  const keyFile = join(dir, name);
  sh(`age-keygen -o '${keyFile}' 2>/dev/null`);
  return { keyFile, recipient: sh(`age-keygen -y '${keyFile}'`).trim() };
}

function encryptedProject(
  opts: { rows?: number; dbToml?: string; incremental?: boolean } = {},
): Project & { keyFile: string; recipient: string } {
  const p = makeProject({
    rows: opts.rows ?? 200,
    payloadBytes: 64,
    dbToml: opts.dbToml,
    incremental: opts.incremental,
  });
  const key = keygen(p.dir);
  const toml = readFileSync(join(p.dir, "sqlbak.toml"), "utf8");
  writeFileSync(
    join(p.dir, "sqlbak.toml"),
    toml.replace("[[database]]", `[encryption]\nrecipients = ["${key.recipient}"]\n\n[[database]]`),
  );
  return { ...p, ...key };
}

/** Each test runs the binary several times (and age, zstd, sqlite3); on a loaded 2-core machine that can pass 5 s. */
const SPAWNS_TIMEOUT_MS = 30_000;

const verifications = (manifest: string) => JSON.parse(readFileSync(manifest, "utf8")).verifications.length;

describe("encrypted backups", () => {
  it(
    "stores <id>.sqlite.zst.age that `age -d -i key | zstd -d` turns back into the database",
    async () => {
      // The promise of self-contained files: incremental = false.
      const p = encryptedProject({ incremental: false });
      const b = await backupNow(p);
      expect(b.file).toBe(join(p.folder, `${b.id}.sqlite.zst.age`));
      expect(statSync(b.file).mode & 0o777).toBe(0o600);
      const m = JSON.parse(readFileSync(b.manifest, "utf8"));
      expect(m.stored.encryption).toEqual({ type: "age", recipients: [p.recipient] });
      expect(m.stored.file).toBe(`${b.id}.sqlite.zst.age`);
      // The stored checksum covers the encrypted file, the raw one the database image.
      expect(sha256File(b.file)).toBe(m.stored.sha256);
      const out = join(p.dir, "disaster.db");
      sh(`age -d -i '${p.keyFile}' '${b.file}' | zstd -d > '${out}'`);
      // The raw one travels in the manifest's meta block, age-encrypted like the file.
      expect(sha256File(out)).toBe(await recordedRawSha256(m, { identity: p.keyFile }));
      expect(sh(`sqlite3 '${out}' 'PRAGMA integrity_check; SELECT count(*) FROM items;'`)).toBe("ok\n200\n");
      expect(readFileSync(b.file).subarray(0, 22).toString()).toBe("age-encryption.org/v1\n");
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "works with gzip and with the VACUUM INTO snapshot method too",
    async () => {
      // gzip and snapshot_method apply to self-contained files only: incremental = false.
      const p = encryptedProject({ incremental: false, dbToml: 'compression = "gzip"\nsnapshot_method = "vacuum"' });
      const b = await backupNow(p);
      expect(b.file.endsWith(".sqlite.gz.age")).toBe(true);
      const out = join(p.dir, "out.db");
      sh(`age -d -i '${p.keyFile}' '${b.file}' | gzip -d > '${out}'`);
      expect(sh(`sqlite3 '${out}' 'PRAGMA integrity_check'`)).toBe("ok\n");
      const r = await runCli(["verify", "--identity", p.keyFile, "--level", "full"], { cwd: p.dir });
      expect(r.stderr).toContain(`${b.id}: ok (full`);
      expect(r.code).toBe(0);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "verify decrypts with --identity or $SQLBAK_AGE_IDENTITY, and needs no key for --level checksum",
    async () => {
      const p = encryptedProject();
      const b = await backupNow(p);
      for (const [args, env] of [
        [["verify", "--identity", p.keyFile], {}],
        [["verify", "--level", "full"], { SQLBAK_AGE_IDENTITY: p.keyFile }],
        [["verify", "--level", "checksum"], {}],
      ] as const) {
        const r = await runCli([...args], { cwd: p.dir, env });
        expect(r.stderr).toContain(`${b.id}: ok`);
        expect(r.code).toBe(0);
      }
      expect(verifications(b.manifest)).toBe(3);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "verify without an identity checks checksums only, exits 0 and says how to run a restore test (issue 14 §5)",
    async () => {
      const p = encryptedProject();
      const b = await backupNow(p);
      const r = await runCli(["verify"], { cwd: p.dir });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("a restore test needs the identity");
      expect(r.stderr).toContain("--identity key.txt");
      const m = JSON.parse(readFileSync(b.manifest, "utf8"));
      expect(m.verifications.map((v: { level: string; ok: boolean }) => [v.level, v.ok])).toEqual([["checksum", true]]);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "stats shows the last real restore test apart from checksum checks; " +
      "with an identity here only a restore test counts for verify_max_age",
    async () => {
      const p = encryptedProject({ dbToml: 'max_age = "30d"\nverify_max_age = "2d"' });
      const b = await backupNow(p);
      expect((await runCli(["verify", "--identity", p.keyFile], { cwd: p.dir })).code).toBe(0);
      expect((await runCli(["verify"], { cwd: p.dir })).code).toBe(0); // checksum only: no identity
      const stats = parseJson((await runCli(["stats", "--json"], { cwd: p.dir })).stdout);
      expect(stats.databases[0].last_verification).toMatchObject({ id: b.id, level: "checksum", ok: true });
      expect(stats.databases[0].last_restore_test).toMatchObject({ id: b.id, level: "quick", ok: true });
      expect((await runCli(["stats"], { cwd: p.dir })).stdout).toMatch(/restore test\s+ok \(quick\)/);

      // Make the backup and its restore test 3 days old, the checksum check fresh.
      const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
      editManifest(b.manifest, (m) => {
        m.created_at = old;
        m.verifications[0].at = old;
      });
      const noKey = await runCli(["stats", "--check"], { cwd: p.dir });
      expect(noKey.stdout.trim()).toBe("healthy");
      expect(noKey.code).toBe(0);
      const withKey = await runCli(["stats", "--check"], { cwd: p.dir, env: { SQLBAK_AGE_IDENTITY: p.keyFile } });
      expect(withKey.stdout).toContain(
        "app: not restore-tested (verify --level quick or full) within verify_max_age 2d (last 3d ago)",
      );
      expect(withKey.code).toBe(3);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "checksum-level verify without an identity also checks the age header against the manifest",
    async () => {
      const p = encryptedProject();
      const b = await backupNow(p);
      const original = readFileSync(b.file);
      // Damage written with a matching checksum, so only the header check can see it.
      const plant = (bytes: Buffer) => {
        writeFileSync(b.file, bytes);
        editManifest(b.manifest, (m) => {
          m.stored.sha256 = sha256File(b.file);
          m.stored.size = bytes.length;
          m.verifications = [];
        });
      };
      const header = original.subarray(0, 200).toString("latin1");
      expect(header.startsWith("age-encryption.org/v1\n-> X25519 ")).toBe(true);
      plant(Buffer.concat([Buffer.from(header.replace("-> X25519 ", "-> X25518 "), "latin1"), original.subarray(200)]));
      const r = await runCli(["verify"], { cwd: p.dir });
      expect(r.stderr).toContain("age header wraps the file key 1 time(s) (0 X25519), manifest says 1 X25519");
      expect(r.code).toBe(3);
      plant(Buffer.concat([Buffer.from("not-age"), original.subarray(7)]));
      const r2 = await runCli(["verify"], { cwd: p.dir });
      expect(r2.stderr).toContain("stored file is not a valid age file");
      expect(r2.code).toBe(3);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "verify --level quick without an identity exits 2 with advice, verifying nothing",
    async () => {
      const p = encryptedProject();
      const b = await backupNow(p);
      const r = await runCli(["verify", "--level", "quick"], { cwd: p.dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`backup ${b.id} is encrypted to ${p.recipient}, and no identity was given`);
      expect(r.stderr).toContain(
        "give the age identity file (AGE-SECRET-KEY-1…) with --identity FILE or $SQLBAK_AGE_IDENTITY",
      );
      expect(verifications(b.manifest)).toBe(0);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "verify with the wrong identity exits 1 and records nothing: a wrong key is no verdict on the backup",
    async () => {
      const p = encryptedProject();
      const b = await backupNow(p);
      const other = keygen(p.dir, "other.txt");
      const r = await runCli(["verify", "--identity", other.keyFile], { cwd: p.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `${b.id}: could not verify: no identity matches backup ${b.id}: ` +
          `it is encrypted to ${p.recipient}; ${other.keyFile} holds ${other.recipient}`,
      );
      expect(r.stderr).toContain("1 of 1 backups could not be verified (no verdict on them: see above)");
      expect(verifications(b.manifest)).toBe(0);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "verify exits 3 when the encrypted payload is damaged even though its checksum was rewritten",
    async () => {
      // The payload of one self-contained age file (an incremental backup's map is too small to reach it
      // 100 bytes from the end; a damaged pack is test/e2e/incremental-bad-pack.test.ts): incremental = false.
      const p = encryptedProject({ incremental: false });
      const b = await backupNow(p);
      flipByte(b.file, -100);
      editManifest(b.manifest, (m) => (m.stored.sha256 = sha256File(b.file)));
      const r = await runCli(["verify", "--identity", p.keyFile], { cwd: p.dir });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        new RegExp(
          "decrypting and decompressing failed: encrypted payload chunk \\d+ failed authentication " +
            "\\(the file is damaged or was altered\\)",
        ),
      );
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "restores with --identity, and the pre-restore backup is encrypted too (no identity needed to take it)",
    async () => {
      const p = encryptedProject();
      const b = await backupNow(p);
      exec(p.db, "DELETE FROM items WHERE id > 10");
      const r = await runCli(
        ["restore", "app", "--id", b.id, "--yes", "--identity", p.keyFile, "--pre-restore", "backup"],
        { cwd: p.dir },
      );
      expect(r.stderr).toContain(`restored ${b.id} to ${p.db}`);
      expect(r.code).toBe(0);
      expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 200 }]);
      expect(readdirSync(p.dir).filter((n) => n.includes(".pre-restore-"))).toEqual([]);
      const pre = (await listBackups(p)).find((x) => x.kind === "pre-restore")!;
      expect(pre.file.endsWith(".sqlite.zst.age")).toBe(true);
      const undo = await runCli(["restore", "app", "--id", pre.id, "--yes"], {
        cwd: p.dir,
        env: { SQLBAK_AGE_IDENTITY: p.keyFile },
      });
      expect(undo.code).toBe(0);
      expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 10 }]);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "by default keeps the replaced file as it was, as plain as the database (docs/restore.md), undone without a key",
    async () => {
      const p = encryptedProject();
      const b = await backupNow(p);
      exec(p.db, "DELETE FROM items WHERE id > 10");
      const r = await runCli(["restore", "app", "--id", b.id, "--yes", "--identity", p.keyFile, "--json"], {
        cwd: p.dir,
      });
      expect(r.code).toBe(0);
      const kept = parseJson(r.stdout).pre_restore_file as string;
      expect(kept.startsWith(`${p.db}.pre-restore-`)).toBe(true);
      expect(readFileSync(kept).subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
      expect((await listBackups(p)).filter((x) => x.kind === "pre-restore")).toEqual([]);
      const undo = await runCli(["restore", "app", "--file", kept, "--yes"], { cwd: p.dir });
      expect(undo.code).toBe(0);
      expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 10 }]);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "restore with the wrong identity exits 1 with one line, leaving the database and the folder untouched",
    async () => {
      const p = encryptedProject();
      const b = await backupNow(p);
      exec(p.db, "DELETE FROM items WHERE id > 10");
      const before = sha256File(p.db);
      const dirBefore = readdirSync(p.dir).sort();
      const folderBefore = readdirSync(p.folder).sort();
      const other = keygen(p.dir, "other.txt");
      const r = await runCli(["restore", "app", "--latest", "--yes", "--identity", other.keyFile], { cwd: p.dir });
      expect(r.code).toBe(1);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("[error]"));
      expect(errors).toEqual([
        `[error] no identity matches backup ${b.id}: ` +
          `it is encrypted to ${p.recipient}; ${other.keyFile} holds ${other.recipient}`,
      ]);
      expect(sha256File(p.db)).toBe(before);
      expect(readdirSync(p.dir).sort()).toEqual([...dirBefore, "other.txt"].sort());
      expect(readdirSync(p.folder).sort()).toEqual(folderBefore); // no pre-restore backup, no temporary copy
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "restore without an identity exits 2 before touching anything",
    async () => {
      const p = encryptedProject();
      const b = await backupNow(p);
      const before = sha256File(p.db);
      const r = await runCli(["restore", "app", "--latest", "--yes"], { cwd: p.dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`backup ${b.id} is encrypted to ${p.recipient}, and no identity was given`);
      expect(sha256File(p.db)).toBe(before);
      expect((await listBackups(p)).length).toBe(1);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "exits 2 for an identity file that does not exist or holds no key",
    async () => {
      const p = encryptedProject();
      await backupNow(p);
      writeFileSync(join(p.dir, "pub.txt"), `${p.recipient}\n`);
      const missing = await runCli(["verify", "--identity", "nope.txt"], { cwd: p.dir });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(
        `cannot read identity file (--identity) ${join(p.dir, "nope.txt")}: no such file or directory`,
      );
      const pub = await runCli(["restore", "app", "--latest", "--yes"], {
        cwd: p.dir,
        env: { SQLBAK_AGE_IDENTITY: "pub.txt" },
      });
      expect(pub.code).toBe(2);
      expect(pub.stderr).toContain(
        `identity file ${join(p.dir, "pub.txt")} ($SQLBAK_AGE_IDENTITY): ` +
          "line 1: not an age secret key (expected AGE-SECRET-KEY-1…)",
      );
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "refuses a mistyped recipient in the config with exit 2 naming the key, writing nothing",
    async () => {
      const p = makeProject();
      const bad = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwq";
      const toml = readFileSync(join(p.dir, "sqlbak.toml"), "utf8");
      writeFileSync(
        join(p.dir, "sqlbak.toml"),
        toml.replace("[[database]]", `[encryption]\nrecipients = ["${bad}"]\npasphrase_env = "X"\n\n[[database]]`),
      );
      const r = await runCli(["backup"], { cwd: p.dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `encryption.recipients[0]: "${bad}" is not an age recipient: it has a bad checksum (mistyped or truncated?)`,
      );
      expect(r.stderr).toContain("encryption.pasphrase_env: unknown key (allowed here: recipients, passphrase_env)");
      expect(readdirSync(p.dir)).not.toContain("backups");
    },
    SPAWNS_TIMEOUT_MS,
  );
});

describe("passphrase encryption", () => {
  function passphraseProject(): Project {
    const p = makeProject({
      rows: 100,
      payloadBytes: 32,
      toml: '[encryption]\npassphrase_env = "APP_BACKUP_PASSPHRASE"',
    });
    return p;
  }

  it(
    "refuses to back up when the variable is not set, rather than write it unencrypted",
    async () => {
      const p = passphraseProject();
      const r = await runCli(["backup"], { cwd: p.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        "[encryption] passphrase_env names $APP_BACKUP_PASSPHRASE, " +
          "which is not set (or empty), so the backup cannot be encrypted",
      );
      expect(existsSync(p.folder)).toBe(false);
    },
    SPAWNS_TIMEOUT_MS,
  );

  it("backs up, verifies and restores with the passphrase from the environment; a wrong one exits 1", async () => {
    const p = passphraseProject();
    const env = { APP_BACKUP_PASSPHRASE: "long enough passphrase" };
    const backup = await runCli(["backup", "--json"], { cwd: p.dir, env });
    expect(backup.code).toBe(0);
    const [result] = parseJson(backup.stdout).results;
    const m = JSON.parse(readFileSync(result.manifest_path, "utf8"));
    expect(m.stored.encryption).toEqual({ type: "age", passphrase_env: "APP_BACKUP_PASSPHRASE", scrypt_log_n: 18 });
    expect(readFileSync(result.data_path).toString("latin1")).toMatch(
      /^age-encryption\.org\/v1\n-> scrypt [A-Za-z0-9+/]{22} 18\n/,
    );
    const noVar = await runCli(["verify"], { cwd: p.dir });
    expect(noVar.code).toBe(2);
    expect(noVar.stderr).toContain(
      `backup ${result.id} is encrypted with the passphrase from $APP_BACKUP_PASSPHRASE, which is not set`,
    );
    const wrong = await runCli(["verify"], { cwd: p.dir, env: { APP_BACKUP_PASSPHRASE: "wrong" } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      `cannot decrypt backup ${result.id}: the passphrase is wrong ($APP_BACKUP_PASSPHRASE)`,
    );
    const ok = await runCli(["verify", "--level", "full"], { cwd: p.dir, env });
    expect(ok.code).toBe(0);
    const to = join(p.dir, "copy.db");
    const restore = await runCli(["restore", "app", "--latest", "--to", to, "--yes"], { cwd: p.dir, env });
    expect(restore.code).toBe(0);
    // The raw SHA-256 travels in the manifest's meta block, encrypted with the same passphrase.
    expect(sha256File(to)).toBe(await recordedRawSha256(m, { passphrase: env.APP_BACKUP_PASSPHRASE }));
  }, 60_000); // scrypt at age's work factor takes about a second per backup opened
});
