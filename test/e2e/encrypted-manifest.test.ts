/**
 * What an encrypted backup's manifest holds in plaintext, through the compiled
 * binary, for pages and full backups, to recipients (no identity on the backup
 * host) and with a passphrase: the manifest beside the backups and at a `dir`
 * destination names no table, holds no row count, schema hash, raw SHA-256,
 * source path or host; those are in its meta block, which the key opens.
 * verify, restore --from, list and stats still work, and a recipients-only
 * host still dedups and reuses a passed check (its facts read from the meta
 * block sealed under the id key). Unencrypted manifests are unchanged.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { generateIdentity } from "../../src/age/index.ts";
import { decryptMeta, sha256File } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

/** Three backups with age (and scrypt, a second per file, for the passphrase), verify, restore, list, stats. */
const SPAWNS_TIMEOUT_MS = 120_000;

const LEDGER_ROWS = 1987;
const NOTES_ROWS = 1313;
const PASSPHRASE = "a passphrase long enough for the test";

function makeSecretDatabase(path: string): void {
  const db = new Database(path, { create: true });
  db.run("PRAGMA journal_mode = wal");
  db.run("CREATE TABLE secret_ledger (id INTEGER PRIMARY KEY, memo TEXT NOT NULL, payload BLOB)");
  db.run("CREATE INDEX idx_ledger_memo ON secret_ledger(memo)");
  db.run("CREATE TABLE customer_notes (id INTEGER PRIMARY KEY, note TEXT)");
  db.transaction(() => {
    for (let i = 0; i < LEDGER_ROWS; i++)
      db.run("INSERT INTO secret_ledger (memo, payload) VALUES (?, randomblob(300))", [`m${i}`]);
    for (let i = 0; i < NOTES_ROWS; i++) db.run("INSERT INTO customer_notes (note) VALUES (?)", [`n${i}`]);
  })();
  db.close();
}

type Kind = "pages" | "full";
type Enc = "recipients" | "passphrase";

function setup(kind: Kind, enc: Enc) {
  const dir = tempDir();
  const db = join(dir, "app.db");
  makeSecretDatabase(db);
  const id = generateIdentity();
  const keyFile = join(dir, "key.txt"); // given only to verify and restore
  writeFileSync(keyFile, `${id.identity}\n`);
  mkdirSync(join(dir, "nas")); // a dir destination must exist: sqlbak never creates its root
  const encryption =
    enc === "recipients" ? `recipients = ["${id.recipient}"]` : `passphrase_env = "APP_BACKUP_PASSPHRASE"`;
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\nincremental = ${kind === "pages"}\n[encryption]\n${encryption}\n\n` +
      `[[database]]\nname = "app"\npath = "app.db"\n\n[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n`,
  );
  const env = { SQLBAK_AGE_IDENTITY: undefined, APP_BACKUP_PASSPHRASE: enc === "passphrase" ? PASSPHRASE : undefined };
  const run = (args: string[]) => runCli(args, { cwd: dir, env });
  const key = enc === "recipients" ? { identity: keyFile } : { passphrase: PASSPHRASE };
  const keyArgs = enc === "recipients" ? ["--identity", keyFile] : [];
  return { dir, db, run, key, keyArgs, local: join(dir, "backups", "app"), nas: join(dir, "nas", "app") };
}

const manifestsIn = (folder: string) =>
  readdirSync(folder)
    .filter((n) => /^app-.*\.json$/.test(n))
    .sort()
    .map((n) => join(folder, n));

/** Every number anywhere in `v`. */
function numbersIn(v: unknown): number[] {
  if (typeof v === "number") return [v];
  if (typeof v !== "object" || v === null) return [];
  return Object.values(v).flatMap(numbersIn);
}

/**
 * The manifest at `path` keeps nothing of what the database holds in plaintext,
 * while its meta block (opened with `key`) holds it all. Returns the opened meta.
 */
async function expectNothingInPlaintext(
  path: string,
  kind: Kind,
  key: { identity?: string; passphrase?: string },
  db: string,
  known?: any,
) {
  const text = readFileSync(path, "utf8");
  const m = JSON.parse(text);
  const meta = known ?? (await decryptMeta(m, key)); // scrypt costs a second per passphrase block

  expect(meta).not.toBeNull();
  // The meta block holds what the plaintext must not: otherwise the checks below would prove nothing.
  expect(meta.snapshot.tables).toEqual({ secret_ledger: LEDGER_ROWS, customer_notes: NOTES_ROWS });
  expect(meta.raw.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(meta.snapshot.schema_sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(meta.source).toBe(db);
  for (const secret of [
    "secret_ledger",
    "customer_notes",
    "idx_ledger_memo",
    meta.raw.sha256,
    meta.snapshot.schema_sha256,
    db,
    `"${hostname()}"`,
  ])
    expect(text).not.toContain(secret);
  const { duration_ms: _timing, ...rest } = m; // a time, free to equal anything
  expect(numbersIn(rest)).not.toContain(LEDGER_ROWS);
  expect(numbersIn(rest)).not.toContain(NOTES_ROWS);
  expect(m.snapshot.tables).toBeUndefined();
  expect(m.raw.sha256).toBeUndefined();
  // What listing, retention and checksum verification need stays.
  expect(m.raw.size).toBeGreaterThan(0);
  expect(m.stored.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(m.check.ok).toBe(true);
  expect(typeof m.meta.age).toBe("string");
  // Pages backups also seal it under the id key's meta key, for the host that writes them.
  expect(m.meta.sealed !== undefined).toBe(kind === "pages");
  return { m, meta };
}

describe("encrypted manifests keep what the database holds in their meta block", () => {
  for (const [kind, enc] of [
    ["pages", "recipients"],
    ["pages", "passphrase"],
    ["full", "recipients"],
    ["full", "passphrase"],
  ] as [Kind, Enc][]) {
    it(
      `${kind} backups, ${enc}: nothing in plaintext beside the backups or at a dir destination; verify, restore --from, list and stats work`,
      async () => {
        const s = setup(kind, enc);
        expect((await s.run(["backup"])).code).toBe(0);
        const u = new Database(s.db);
        u.run("UPDATE secret_ledger SET memo = 'changed' WHERE id = 7");
        u.close();
        expect((await s.run(["backup"])).code).toBe(0);
        expect((await s.run(["backup"])).code).toBe(0); // unchanged since the second

        const local = manifestsIn(s.local);
        expect(local.length).toBe(3);
        expect(manifestsIn(s.nas).map((p) => p.slice(s.nas.length))).toEqual(local.map((p) => p.slice(s.local.length)));
        const opened = [];
        for (const path of local) opened.push(await expectNothingInPlaintext(path, kind, s.key, s.db));
        // The destination holds the same manifests, byte for byte.
        for (const path of manifestsIn(s.nas))
          expect(readFileSync(path, "utf8")).toBe(readFileSync(join(s.local, path.slice(s.nas.length)), "utf8"));
        const [, second, third] = opened;

        if (kind === "pages") {
          // No identity on this host (recipients): the second backup's facts came from its meta block sealed under the id key.
          expect(third!.m.check.reused_from).toBe(second!.m.id);
          expect(third!.meta.snapshot.tables).toEqual(second!.meta.snapshot.tables);
          expect(third!.m.stored.packs.some((p: { new?: boolean }) => p.new)).toBe(false);
        }

        const list = await s.run(["list", "--json"]);
        expect(list.code).toBe(0);
        const listed = parseJson(list.stdout).backups;
        expect(listed.map((b: { id: string }) => b.id)).toEqual(opened.slice(0, 3).map((o) => o.m.id));
        expect(listed.every((b: { raw: { size: number } }) => b.raw.size > 0)).toBe(true);
        const stats = await s.run(["stats", "--json"]);
        expect(stats.code).toBe(0);
        const remote = await s.run(["list", "--from", "nas", "--json"]);
        expect(remote.code).toBe(0);
        expect(parseJson(remote.stdout).backups.map((b: { id: string }) => b.id)).toEqual(
          listed.map((b: { id: string }) => b.id),
        );
        const remoteVerify = await s.run(["verify", "--from", "nas", "--level", "full", ...s.keyArgs]);
        expect(remoteVerify.stderr).not.toContain("FAILED");
        expect(remoteVerify.code).toBe(0);

        // Every backup with recipients; the newest alone with a passphrase (scrypt for each file it opens).
        const which = enc === "recipients" ? ["--all"] : [];
        const verified = await s.run(["verify", ...which, "--level", "full", ...s.keyArgs]);
        expect(verified.stderr).not.toContain("FAILED");
        expect(verified.code).toBe(0);
        const copy = join(s.dir, "restored.db");
        const restored = await s.run([
          "restore",
          "app",
          "--from",
          "nas",
          "--latest",
          "--to",
          copy,
          "--yes",
          ...s.keyArgs,
        ]);
        expect(restored.code).toBe(0);
        expect(sha256File(copy)).toBe(third!.meta.raw.sha256);
        // verify appended its records; the manifests it rewrote still hold nothing in plaintext.
        for (const [i, path] of local.entries())
          await expectNothingInPlaintext(path, kind, s.key, s.db, opened[i]!.meta);
      },
      SPAWNS_TIMEOUT_MS,
    );
  }

  it(
    "a failed verification of an encrypted backup records no table name: what the decrypted image showed is summed up",
    async () => {
      const s = setup("full", "recipients");
      expect((await s.run(["backup"])).code).toBe(0);
      const [path] = manifestsIn(s.local);
      // A meta block whose row count disagrees with the image, encrypted to the same recipient.
      const m = JSON.parse(readFileSync(path!, "utf8"));
      const meta = await decryptMeta(m, s.key);
      meta.snapshot.tables.secret_ledger = 5;
      const recipient = Bun.spawnSync(["age-keygen", "-y", s.key.identity!]).stdout.toString().trim();
      const enc = Bun.spawnSync(["age", "-r", recipient], { stdin: Buffer.from(JSON.stringify(meta)) });
      expect(enc.exitCode).toBe(0);
      m.meta.age = Buffer.from(enc.stdout).toString("base64");
      writeFileSync(path!, `${JSON.stringify(m, null, 2)}\n`);

      const r = await s.run(["verify", "--level", "full", ...s.keyArgs]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`table secret_ledger has ${LEDGER_ROWS} rows, manifest says 5`); // told to the user
      const text = readFileSync(path!, "utf8");
      expect(text).not.toContain("secret_ledger");
      const [v] = JSON.parse(text).verifications;
      expect(v.ok).toBe(false);
      expect(v.problems).toEqual([
        expect.stringMatching(/^the decrypted image failed verification at full \(1 problem/),
      ]);
      const list = await s.run(["list", "--json"]);
      expect(parseJson(list.stdout).backups[0].verified_state).toBe("failed");
    },
    SPAWNS_TIMEOUT_MS,
  );

  it("unencrypted manifests are as before: every field in plaintext, no meta block", async () => {
    const dir = tempDir();
    const db = join(dir, "app.db");
    makeSecretDatabase(db);
    writeFileSync(
      join(dir, "sqlbak.toml"),
      `backup_dir = "backups"\nincremental = true\n\n[[database]]\nname = "app"\npath = "app.db"\n`,
    );
    expect((await runCli(["backup"], { cwd: dir })).code).toBe(0);
    const [path] = manifestsIn(join(dir, "backups", "app"));
    const m = JSON.parse(readFileSync(path!, "utf8"));
    expect(m.meta).toBeUndefined();
    expect(m.snapshot.tables).toEqual({ secret_ledger: LEDGER_ROWS, customer_notes: NOTES_ROWS });
    expect(m.raw.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.source).toBe(db);
  });
});
