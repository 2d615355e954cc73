/** `restore` through the compiled binary: round trip, refusals (each with its message), undo, selectors. */
import { describe, expect, it } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
} from "node:fs";
import { join } from "node:path";
import {
  backupNow,
  editManifest,
  exec,
  flipByte,
  listBackups,
  makeProject,
  rows,
  sha256File,
  withDatabase,
} from "../helpers/backups.ts";
import { startHolder } from "../helpers/hold.ts";
import { parseJson } from "../helpers/json.ts";
import { BIN, runCli } from "../helpers/run-cli.ts";
import { AS_NOBODY, handToNobody } from "../helpers/unprivileged.ts";

/** Tables, a WITHOUT ROWID table, indexes, a trigger, a view, BLOBs, NULLs, unicode and FTS5. */
function fillRichDatabase(path: string): void {
  withDatabase(path, (db) => {
    const run = (sql: string, ...params: unknown[]) => db.prepare(sql).run(...(params as []));
    run("PRAGMA journal_mode = WAL");
    run("CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
    run(
      "CREATE TABLE posts (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors(id), " +
        "title TEXT, body TEXT, cover BLOB, score REAL)",
    );
    run("CREATE INDEX posts_author ON posts(author_id, score DESC)");
    run("CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, post_id INTEGER, action TEXT)");
    run(
      "CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN INSERT INTO audit (post_id, action) " +
        "VALUES (new.id, 'insert'); END",
    );
    run("CREATE VIEW post_titles AS SELECT a.name, p.title FROM posts p JOIN authors a ON a.id = p.author_id");
    run("CREATE VIRTUAL TABLE posts_fts USING fts5(title, body)");
    run("CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID");
    run("BEGIN");
    const author = db.prepare("INSERT INTO authors VALUES (?, ?)");
    for (let a = 1; a <= 5; a++) author.run(a, `author ${a} — ünïcødé ✓`);
    const post = db.prepare(
      "INSERT INTO posts (author_id, title, body, cover, score) VALUES (?, ?, ?, randomblob(?), ?)",
    );
    const fts = db.prepare("INSERT INTO posts_fts VALUES (?, ?)");
    const kv = db.prepare("INSERT INTO kv VALUES (?, ?)");
    for (let i = 0; i < 300; i++) {
      post.run((i % 5) + 1, `post ${i}`, i % 7 === 0 ? null : `body of post ${i} with words`, i * 3, i / 7);
      fts.run(`post ${i}`, `searchable text ${i}`);
      kv.run(`key-${i}`, i % 2 ? new Uint8Array([0, 1, 2, i & 255]) : i);
    }
    run("COMMIT");
  });
}

function dump(path: string): string {
  const r = Bun.spawnSync(["sqlite3", path, ".dump"]);
  if (r.exitCode !== 0) throw new Error(`sqlite3 .dump failed: ${r.stderr}`);
  return r.stdout.toString();
}

const sortedLines = (text: string) => text.split("\n").sort();

/** Temporary and sidecar files of `base` left in `dir`. */
const strays = (dir: string, base: string) =>
  readdirSync(dir).filter((n) => (n.startsWith(base) || n.startsWith(`.${base}`)) && n !== base);

describe("sqlbak restore", () => {
  it("round-trips tables, indexes, triggers, views, BLOBs and FTS5: sqlite3 .dump of both is identical", async () => {
    const p = makeProject();
    fillRichDatabase(p.db);
    const first = await backupNow(p);
    const to = join(p.dir, "copy.db");
    const r = await runCli(["restore", "app", "--id", first.id, "--to", to, "--yes"], { cwd: p.dir });
    expect(r.stderr).toContain(`restored ${first.id} to ${to} (SHA-256 matches the backup, `);
    expect(r.stderr).toContain(`${to} did not exist before, so there was nothing to save`);
    expect(r.code).toBe(0);
    expect(strays(p.dir, "copy.db")).toEqual([]);
    // VACUUM INTO (the snapshot) writes sqlite_schema in SQLite's canonical order (tables, indexes,
    // triggers and views, virtual tables last) and .dump follows that order: same statements, reordered.
    expect(sortedLines(dump(to))).toEqual(sortedLines(dump(p.db)));
    expect(rows(to, "SELECT count(*) AS n FROM posts_fts WHERE posts_fts MATCH 'searchable'")).toEqual([{ n: 300 }]);
    expect(rows(to, "PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
    // A new path gets the mode the database had when it was backed up.
    expect(statSync(to).mode & 0o777).toBe(statSync(p.db).mode & 0o777);

    // Once the source is in canonical order itself (VACUUM), the dumps are identical line for line.
    exec(p.db, "VACUUM");
    const second = await backupNow(p);
    const to2 = join(p.dir, "copy2.db");
    expect((await runCli(["restore", "app", "--id", second.id, "--to", to2, "--yes"], { cwd: p.dir })).code).toBe(0);
    expect(dump(to2)).toBe(dump(p.db));
    expect((await listBackups(p)).map((x) => x.kind)).toEqual(["manual", "manual"]);
  });

  // The default keeps the replaced file itself (restore-kept.test.ts); --pre-restore backup takes a backup.
  it("replaces the configured database, keeps a pre-restore backup, and the printed undo command works", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    const r = await runCli(["restore", "app", "--latest", "--yes", "--pre-restore", "backup"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(strays(p.dir, "app.db")).toEqual([]);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 50 }]);
    const pre = (await listBackups(p)).find((x) => x.kind === "pre-restore")!;
    expect(r.stderr).toContain(`the previous database was saved as pre-restore backup ${pre.id}`);
    expect(r.stderr).toContain(`to undo: sqlbak restore app --id ${pre.id} --yes`);
    const log = (await Bun.file(join(p.dir, "backups", "sqlbak.log.jsonl")).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ op: "restore", ok: true, id: b.id, pre_restore_id: pre.id, target: p.db });

    const undo = await runCli(["restore", "app", "--id", pre.id, "--yes"], { cwd: p.dir });
    expect(undo.code).toBe(0);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 10 }]);
  });

  it.each([
    // "stored file" for a self-contained backup, "map file <name>" for an incremental one, as verify says it.
    ["a flipped byte", (b: { file: string }) => flipByte(b.file, -30), /(stored file|map file \S+) sha256 \w+…/],
    [
      "a truncated file",
      (b: { file: string }) => truncateSync(b.file, 100),
      /(stored file|map file \S+) is 100 bytes, manifest says/,
    ],
    [
      // The facts are compared only when SQLite is asked to look (--check quick|full): restore-check.test.ts.
      "an edited row count (--check quick)",
      (b: { manifest: string }) => editManifest(b.manifest, (m) => (m.snapshot.tables.items = 7)),
      /table items has 50 rows, manifest says 7/,
    ],
    [
      "an edited raw sha256",
      (b: { manifest: string }) => editManifest(b.manifest, (m) => (m.raw.sha256 = "f".repeat(64))),
      /decompressed image sha256|the reassembled image's SHA-256/,
    ],
  ])("refuses a backup with %s (exit 3) and leaves the target untouched", async (what, damage, message) => {
    const p = makeProject();
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    damage(b as never);
    const before = sha256File(p.db);
    const check = what.includes("--check quick") ? ["--check", "quick"] : [];
    const r = await runCli(["restore", "app", "--id", b.id, "--yes", ...check], { cwd: p.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`refusing to restore ${b.id}: `);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("nothing was changed");
    expect(sha256File(p.db)).toBe(before);
    expect((await listBackups(p)).map((x) => x.kind)).toEqual(["manual"]);
    expect(strays(p.dir, "app.db").filter((n) => n.includes(".tmp"))).toEqual([]);
  });

  it.each([
    [
      [],
      "not a terminal, so restore cannot ask; " +
        "missing a database NAME (or --id), a backup selector (--id, --at or --latest), --yes to confirm",
    ],
    [["app", "--latest"], "not a terminal, so restore cannot ask; missing --yes to confirm"],
    [["app", "--yes"], "not a terminal, so restore cannot ask; missing a backup selector (--id, --at or --latest)"],
    [["app", "--id", "../../etc/passwd", "--yes"], '"../../etc/passwd" is not a backup id'],
    [["app", "--latest", "--at", "2h ago", "--yes"], "choose one of --at, --latest"],
    [["app", "--at", "next tuesday", "--yes"], 'cannot read --at "next tuesday"'],
    [["app", "--at", "2000-01-01", "--yes"], "no backup at or before 2000-01-01 23:59:59"],
    [
      ["other", "--id", "app-20250101T000000000Z-deadbeef", "--yes"],
      'backup app-20250101T000000000Z-deadbeef belongs to "app", not "other"',
    ],
    [["nosuchdb", "--latest", "--yes"], 'unknown database "nosuchdb"'],
  ])("exits 2 without prompting for restore %p", async (args, message) => {
    const p = makeProject();
    await backupNow(p);
    const before = sha256File(p.db);
    const r = await runCli(["restore", ...args], { cwd: p.dir });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
    expect(sha256File(p.db)).toBe(before);
  });

  it(`without a TTY suggests the user's own command plus --yes, and running it restores to --to, \
live database untouched`, async () => {
    const p = makeProject();
    await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    const before = sha256File(p.db);
    const r = await runCli(["restore", "app", "--latest", "--to", "my copy.db"], { cwd: p.dir });
    expect(r.code).toBe(2);
    const suggested = /e\.g\. (sqlbak .*?)(?:;|$)/m.exec(r.stderr)?.[1];
    expect(suggested).toBe("sqlbak restore app --latest --to 'my copy.db' --yes");
    expect(r.stderr).toContain("to see the plan first: sqlbak restore app --latest --to 'my copy.db' --dry-run");
    // Run it as a shell would: through sh, with sqlbak being the binary under test.
    const ran = Bun.spawnSync(["sh", "-c", `sqlbak() { "$SQLBAK" "$@"; }; ${suggested}`], {
      cwd: p.dir,
      env: { ...process.env, SQLBAK: BIN, HOME: p.dir },
    });
    expect(ran.exitCode).toBe(0);
    expect(rows(join(p.dir, "my copy.db"), "SELECT count(*) AS n FROM items")).toEqual([{ n: 50 }]);
    expect(sha256File(p.db)).toBe(before);
  });

  it("the undo command repeats --backup-dir, so pasting it finds the pre-restore backup", async () => {
    const p = makeProject();
    const r0 = await runCli(["backup", "app", "--backup-dir", "elsewhere"], { cwd: p.dir });
    expect(r0.code).toBe(0);
    exec(p.db, "DELETE FROM items WHERE id > 10");
    const r = await runCli(["restore", "app", "--latest", "--yes", "--backup-dir", "elsewhere"], { cwd: p.dir });
    expect(r.code).toBe(0);
    const undo = /to undo: (sqlbak .*)$/m.exec(r.stderr)?.[1];
    expect(undo).toContain("--backup-dir elsewhere");
    const ran = Bun.spawnSync(["sh", "-c", `sqlbak() { "$SQLBAK" "$@"; }; ${undo}`], {
      cwd: p.dir,
      env: { ...process.env, SQLBAK: BIN, HOME: p.dir },
    });
    expect(ran.exitCode).toBe(0);
    expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 10 }]);
  });

  it("an unknown --id suggests a list command that reads the same backup folder", async () => {
    const p = makeProject();
    const b = parseJson((await runCli(["backup", "app", "--json", "--backup-dir", "elsewhere"], { cwd: p.dir })).stdout)
      .results[0];
    const r = await runCli(
      ["restore", "app", "--id", "app-20200101T000000000Z-deadbeef", "--yes", "--backup-dir", "elsewhere"],
      { cwd: p.dir },
    );
    expect(r.code).toBe(2);
    const list = /see `(sqlbak list [^`]*)`/.exec(r.stderr)?.[1];
    expect(list).toBe("sqlbak list app --backup-dir elsewhere");
    const ran = Bun.spawnSync(["sh", "-c", `sqlbak() { "$SQLBAK" "$@"; }; ${list}`], {
      cwd: p.dir,
      env: { ...process.env, SQLBAK: BIN, HOME: p.dir },
    });
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout.toString()).toContain(b.id);
  });

  it("a refused damaged backup suggests a verify command that repeats --backup-dir and finds that backup", async () => {
    const p = makeProject();
    expect((await runCli(["backup", "app", "--backup-dir", "elsewhere"], { cwd: p.dir })).code).toBe(0);
    const [b] = parseJson(
      (await runCli(["list", "--json", "--backup-dir", "elsewhere"], { cwd: p.dir })).stdout,
    ).backups;
    flipByte(b.file, -30);
    const r = await runCli(["restore", "app", "--latest", "--yes", "--backup-dir", "elsewhere"], { cwd: p.dir });
    expect(r.code).toBe(3);
    const verify = /check it with `(sqlbak verify [^`]*)`/.exec(r.stderr)?.[1];
    expect(verify).toBe(`sqlbak verify ${b.id} --backup-dir elsewhere`);
    expect(r.stderr).toContain("(`sqlbak list app --backup-dir elsewhere`)");
    const ran = Bun.spawnSync(["sh", "-c", `sqlbak() { "$SQLBAK" "$@"; }; ${verify}`], {
      cwd: p.dir,
      env: { ...process.env, SQLBAK: BIN, HOME: p.dir },
    });
    expect(ran.stderr.toString()).toContain(b.id);
    expect(ran.exitCode).toBe(3);
  });

  it(`refuses to overwrite an existing --to file without --force, \
and replaces it with --force keeping a way back`, async () => {
    const p = makeProject();
    await backupNow(p);
    const other = join(p.dir, "other.db");
    exec(other, "CREATE TABLE precious (x)");
    const before = sha256File(other);
    const refused = await runCli(["restore", "app", "--latest", "--to", other, "--yes"], { cwd: p.dir });
    expect(refused.stderr).toContain(
      `refusing to overwrite existing file ${other}; ` +
        "pass --force to replace it (a pre-restore backup of it is taken first)",
    );
    expect(refused.code).toBe(2);
    expect(sha256File(other)).toBe(before);
    const forced = await runCli(
      ["restore", "app", "--latest", "--to", other, "--yes", "--force", "--pre-restore", "backup"],
      { cwd: p.dir },
    );
    expect(forced.code).toBe(0);
    expect(rows(other, "SELECT count(*) AS n FROM items")).toEqual([{ n: 50 }]);
    const pre = (await listBackups(p)).find((x) => x.kind === "pre-restore")!;
    expect(forced.stderr).toContain(`to undo: sqlbak restore app --id ${pre.id} --to ${other} --force --yes`);
    // The safety copy of other.db is filed under app, so list says which file it came from.
    expect(pre.source).toBe(other);
    const table = await runCli(["list", "app"], { cwd: p.dir });
    expect(table.stdout).toContain(`pre-restore of ${other}`);
    expect(
      (await runCli(["restore", "app", "--id", pre.id, "--to", other, "--force", "--yes"], { cwd: p.dir })).code,
    ).toBe(0);
    expect(rows(other, "SELECT name FROM sqlite_schema")).toEqual([{ name: "precious" }]);
  });

  it("picks the newest backup at or before --at", async () => {
    const p = makeProject();
    const first = await backupNow(p);
    await Bun.sleep(20);
    const between = new Date().toISOString();
    await Bun.sleep(20);
    await backupNow(p);
    const r = await runCli(["restore", "app", "--at", between, "--to", join(p.dir, "at.db"), "--yes", "--json"], {
      cwd: p.dir,
    });
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout).id).toBe(first.id);
  });

  it("--dry-run prints the plan and changes nothing", async () => {
    const p = makeProject();
    const b = await backupNow(p);
    const before = sha256File(p.db);
    const r = await runCli(["restore", "app", "--latest", "--dry-run"], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`would restore:\n  backup:  ${b.id}`);
    expect(r.stdout).toContain(`target:  ${p.db}`);
    expect(r.stdout).toContain(
      `keep ${p.db} beside it as app.db.pre-restore-<time> (else a pre-restore backup into app)`,
    );
    expect(sha256File(p.db)).toBe(before);
    expect(await listBackups(p)).toHaveLength(1);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "a restore where no file exists gives back the mode and owner recorded at backup time (needs root to chown)",
    async () => {
      const p = makeProject();
      handToNobody(p.dir); // the application's own folder, as in production
      chmodSync(p.db, 0o640);
      chownSync(p.db, 65534, 65534);
      exec(p.db, "PRAGMA journal_mode = WAL");
      const b = await backupNow(p);
      const manifest = JSON.parse(readFileSync(b.manifest, "utf8"));
      expect(manifest.source_stat).toEqual({ mode: 0o640, uid: 65534, gid: 65534 });
      for (const f of [p.db, `${p.db}-wal`, `${p.db}-shm`]) rmSync(f, { force: true });

      const r = await runCli(["restore", "app", "--latest", "--yes"], { cwd: p.dir });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("mode 0640, owner 65534:65534, as recorded at backup time");
      const st = statSync(p.db);
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o640, 65534, 65534]);
      // Whatever sidecars are left for the application are its own, never root's.
      for (const f of [`${p.db}-wal`, `${p.db}-shm`]) if (existsSync(f)) expect(statSync(f).uid).toBe(65534);
      // The application, running as that user, can write its database.
      const w = Bun.spawnSync([...AS_NOBODY, "sqlite3", p.db, "INSERT INTO items (name) VALUES ('after restore')"]);
      expect(w.stderr.toString()).toBe("");
      expect(w.exitCode).toBe(0);

      // A backup from before sqlbak recorded them: the folder's owner and the umask, and the output says so.
      editManifest(b.manifest, (m) => delete m.source_stat);
      const folder = join(p.dir, "appdata");
      mkdirSync(folder);
      chownSync(folder, 65534, 65534);
      const to = join(folder, "app.db");
      const r2 = await runCli(["restore", "app", "--latest", "--to", to, "--yes"], { cwd: p.dir });
      expect(r2.code).toBe(0);
      expect(r2.stderr).toContain("from the folder's owner and the umask (this backup recorded none)");
      const st2 = statSync(to);
      expect([st2.uid, st2.gid]).toEqual([65534, 65534]);
      expect(st2.mode & 0o777).toBe(0o666 & ~process.umask());
    },
  );

  it("needs --to for a database that is not in the config", async () => {
    const p = makeProject();
    const r0 = await runCli(
      ["backup", join(p.dir, "app.db"), "--config", "/dev/null", "--backup-dir", join(p.dir, "loose")],
      { cwd: p.dir },
    );
    expect(r0.code).toBe(0);
    const r = await runCli(
      ["restore", "app", "--latest", "--yes", "--config", "/dev/null", "--backup-dir", join(p.dir, "loose")],
      { cwd: p.dir },
    );
    expect(r.stderr).toContain(
      'database "app" is not in the config, so there is no target to restore to; give --to PATH',
    );
    expect(r.stderr).toContain(`it was backed up from ${p.db}`);
    expect(r.code).toBe(2);
    expect(existsSync(join(p.dir, "loose", "app"))).toBe(true);
  });
});

describe("sqlbak restore while another process has the database open", () => {
  it.each([
    ["wal", "read"],
    ["wal", "open"],
    ["delete", "txn"],
    ["delete", "open"],
  ])(
    "refuses a %s-mode database held (%s) without --force, target untouched; replaces it with --force",
    async (mode, how) => {
      const p = makeProject();
      exec(p.db, `PRAGMA journal_mode = ${mode}`);
      await backupNow(p);
      exec(p.db, "DELETE FROM items WHERE id > 10");
      const holder = await startHolder(p.db, how);
      try {
        const before = sha256File(p.db);
        const refused = await runCli(["restore", "app", "--latest", "--yes"], { cwd: p.dir });
        expect(refused.stderr).toContain(`refusing to restore: ${p.db} is in use (pid ${holder.pid} bun)`);
        expect(refused.stderr).toContain(
          "stop the application using it and run again, or pass --force to replace it anyway",
        );
        expect(refused.code).toBe(1);
        expect(sha256File(p.db)).toBe(before);
        expect((await listBackups(p)).map((b) => b.kind)).toEqual(["manual"]);

        const forced = await runCli(["restore", "app", "--latest", "--yes", "--force"], { cwd: p.dir });
        expect(forced.stderr).toContain(
          `${p.db} was in use (pid ${holder.pid} bun); those processes still have the replaced file open: restart them`,
        );
        expect(forced.code).toBe(0);
        expect(rows(p.db, "SELECT count(*) AS n FROM items")).toEqual([{ n: 50 }]);
        expect((await listBackups(p)).map((b) => b.kind)).toEqual(["manual", "pre-restore"]);
      } finally {
        holder.kill(9);
        await holder.exited;
      }
    },
  );
});
