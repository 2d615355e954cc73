/** A project folder with a config and databases, backed up through the binary; for verify and restore tests. */
import { Database } from "bun:sqlite";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decryptBytes } from "../../src/age/index.ts";
import { parseJson } from "./json.ts";
import { runCli } from "./run-cli.ts";
import { tempDir } from "./tmp.ts";

export interface Project {
  dir: string;
  db: string;
  folder: string;
}

/**
 * A folder with `app.db` (the test helper's schema) configured as "app", plus `toml` at the top level and
 * `dbToml` inside its [[database]]. `incremental` writes that key globally (left out: the default).
 */
export function makeProject(
  opts: { rows?: number; payloadBytes?: number; dbToml?: string; toml?: string; incremental?: boolean } = {},
): Project {
  const dir = tempDir();
  const db = createAppDatabase(join(dir, "app.db"), opts.rows ?? 50, opts.payloadBytes ?? 16);
  const incremental = opts.incremental === undefined ? "" : `incremental = ${opts.incremental}\n`;
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\n${incremental}${opts.toml ?? ""}\n[[database]]\nname = "app"\npath = "app.db"\n${opts.dbToml ?? ""}\n`,
  );
  return { dir, db, folder: join(dir, "backups", "app") };
}

export interface ListedBackup {
  id: string;
  kind: string;
  source: string;
  file: string;
  manifest: string;
  created_at: string;
  tags: string[];
}

/** Takes a backup through the binary and returns its listing entry. */
export async function backupNow(p: Project, extra: string[] = []): Promise<ListedBackup> {
  const r = await runCli(["backup", "app", "--json", ...extra], { cwd: p.dir });
  if (r.code !== 0) throw new Error(`backup failed: ${r.stderr}`);
  const [result] = parseJson(r.stdout).results;
  return (await listBackups(p)).find((b) => b.id === result.id)!;
}

export async function listBackups(p: Project): Promise<ListedBackup[]> {
  const r = await runCli(["list", "--json"], { cwd: p.dir });
  if (r.code !== 0) throw new Error(`list failed: ${r.stderr}`);
  return parseJson(r.stdout).backups;
}

/** `list --json` whole: the backups, then the pre-restore files kept beside the databases. */
export async function listEntries(p: Project): Promise<Record<string, any>[]> {
  const r = await runCli(["list", "--json"], { cwd: p.dir });
  if (r.code !== 0) throw new Error(`list failed: ${r.stderr}`);
  const out = parseJson(r.stdout);
  return [...out.backups, ...out.pre_restore_files];
}

export function sha256File(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * Runs statements on a database and really closes it. bun:sqlite's close()
 * leaves the connection open while any statement is unfinalized (db.query()
 * caches them; test/helpers/db.ts's makeDatabase and queryAll leave them) until
 * the garbage collector runs: the test process would then "use" the database
 * (restore's in-use check sees it) and checkpoint it at a random moment.
 */
export function withDatabase<T>(path: string, fn: (db: Database) => T): T {
  const db = new Database(path, { create: true });
  const made: ReturnType<Database["prepare"]>[] = [];
  const orig = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const stmt = orig(sql);
    made.push(stmt);
    return stmt;
  }) as Database["prepare"];
  try {
    return fn(db);
  } finally {
    for (const s of made) s.finalize();
    db.close(true);
  }
}

/** Runs one statement (read-write), leaving no connection behind. */
export function exec(path: string, sql: string): void {
  withDatabase(path, (db) => {
    db.prepare("PRAGMA busy_timeout = 5000").run();
    db.prepare(sql).run();
  });
}

/** The schema of test/helpers/db.ts (items, counter, an index and a view), made without leftover connections. */
export function createAppDatabase(path: string, rowCount: number, payloadBytes: number): string {
  withDatabase(path, (db) => {
    for (const sql of [
      "PRAGMA journal_mode = wal",
      "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload BLOB)",
      "CREATE INDEX items_name ON items(name)",
      "CREATE TABLE counter (n INTEGER NOT NULL)",
      "CREATE VIEW item_names AS SELECT name FROM items",
      "INSERT INTO counter VALUES (0)",
      "BEGIN",
    ])
      db.prepare(sql).run();
    const insert = db.prepare("INSERT INTO items (name, payload) VALUES (?, randomblob(?))");
    for (let i = 0; i < rowCount; i++) insert.run(`item-${i}`, payloadBytes);
    db.prepare("COMMIT").run();
  });
  return path;
}

/** All rows of one query, with the statement finalized and the connection really closed. */
export function rows(path: string, sql: string): unknown[] {
  return withDatabase(path, (db) => db.prepare(sql).all());
}

/** Reads a manifest, lets `edit` change it, writes it back. */
export function editManifest(path: string, edit: (m: any) => void): void {
  const m = JSON.parse(readFileSync(path, "utf8"));
  edit(m);
  writeFileSync(path, `${JSON.stringify(m, null, 2)}\n`);
}

/** Flips one byte of a file in place, at `offset` from the start (negative: from the end). */
export function flipByte(path: string, offset: number): void {
  const buf = readFileSync(path);
  const at = offset < 0 ? buf.length + offset : offset;
  buf[at] = buf[at]! ^ 0xff;
  writeFileSync(path, buf);
}

/** Runs `fn` while this process holds `folder`'s sqlbak lock, as another run would. */
export async function whileLocked(folder: string, fn: () => Promise<void>): Promise<void> {
  const lock = new Database(join(folder, ".sqlbak-lock"));
  lock.run("BEGIN EXCLUSIVE");
  try {
    await fn();
  } finally {
    lock.run("ROLLBACK");
    lock.close();
  }
}

/**
 * The meta block of an encrypted backup's manifest `m`, decrypted with the age
 * CLI (`key.identity`, an identity file) or sqlbak's own age module
 * (`key.passphrase`: the CLI asks for one on a terminal only); null when `m` has none.
 */
export async function decryptMeta(m: any, key: { identity?: string; passphrase?: string }): Promise<any> {
  if (!m.meta) return null;
  const block = Buffer.from(m.meta.age, "base64");
  if (key.passphrase !== undefined)
    return JSON.parse(
      Buffer.from(await decryptBytes(block, { identities: [], passphrase: key.passphrase })).toString(),
    );
  const r = Bun.spawnSync(["age", "-d", "-i", key.identity!], { stdin: block, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`age -d of the meta block of ${m.id} failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString());
}

/** The raw SHA-256 a manifest records: in plaintext, or in its meta block (decrypted as decryptMeta does). */
export async function recordedRawSha256(m: any, key?: { identity?: string; passphrase?: string }): Promise<string> {
  if (m.raw.sha256 !== undefined) return m.raw.sha256;
  if (!key) throw new Error(`manifest of ${m.id} keeps its raw SHA-256 in its meta block: give the key`);
  return (await decryptMeta(m, key)).raw.sha256;
}

/**
 * The files in `folder` that the backups `ids` need beside their own (`<id>.*`): for an incremental backup the
 * packs its manifest names, each with its index, and the folder's id key with its copies. Rotation frees none
 * of them while those backups are kept; a self-contained backup needs none.
 */
export function sharedFilesOf(folder: string, ids: string[]): Set<string> {
  const names = new Set<string>();
  for (const id of ids) {
    const m = JSON.parse(readFileSync(join(folder, `${id}.json`), "utf8"));
    for (const pack of m.stored.packs ?? []) {
      const stem = pack.name.replace(/\.zst(\.age)?$/, "");
      for (const name of [pack.name, `${stem}.idx`, `${stem}.idx.sealed`, `${stem}.idx.age`]) names.add(name);
    }
  }
  for (const f of readdirSync(folder))
    if (f === ".sqlbak-id-key" || /^id-key-[0-9a-f]{16}(\.age)?$/.test(f)) names.add(f);
  return names;
}
