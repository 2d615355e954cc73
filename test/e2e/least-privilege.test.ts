/**
 * Least privilege, as docs/least-privilege.md sets it up: the app's user owns a
 * WAL database, sqlbak runs as `nobody`. SQLite reads a WAL database through
 * its -shm file and creates it (and -wal) when no connection has the database
 * open. Needs root, to run as two unprivileged users.
 */
import { describe, expect, it } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const IS_ROOT = process.getuid?.() === 0;
/** The app's user and group: no passwd entry needed. */
const APP_ID = 1500;
const NOBODY = 65534;
const asApp = ["setpriv", `--reuid=${APP_ID}`, `--regid=${APP_ID}`, "--clear-groups"];
const asBackup = (groups: number[]) => [
  "setpriv",
  `--reuid=${NOBODY}`,
  `--regid=${NOBODY}`,
  ...(groups.length ? [`--groups=${groups.join(",")}`] : ["--clear-groups"]),
];

/** A WAL database of the app's user, closed (no -shm), in a folder of the given mode; a backup folder of nobody's. */
function setup(folderMode: number, dbMode: number) {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const app = join(dir, "app");
  mkdirSync(app);
  const db = makeDatabase(join(app, "app.db"));
  expect(existsSync(`${db}-shm`)).toBe(false);
  chownSync(app, APP_ID, APP_ID);
  chownSync(db, APP_ID, APP_ID);
  chmodSync(app, folderMode);
  chmodSync(db, dbMode);
  const backups = join(dir, "backups");
  mkdirSync(backups);
  chownSync(backups, NOBODY, NOBODY);
  return { dir, app, db, backups };
}

/** The app writes to its database as its own user (what a lock-out would break). */
function appWrites(db: string) {
  const p = Bun.spawnSync([...asApp, "sqlite3", db, "INSERT INTO counter VALUES (1); SELECT count(*) FROM counter;"]);
  return { code: p.exitCode, out: p.stdout.toString().trim(), err: p.stderr.toString() };
}

describe.skipIf(!IS_ROOT || !Bun.which("setpriv") || !Bun.which("sqlite3") || !existsSync("/usr/bin/python3"))(
  "least privilege",
  () => {
    it("a WAL database in a folder the backup user cannot write: says what to do, exit 1", async () => {
      const { dir, db, backups } = setup(0o755, 0o644);
      const r = await runCli(["backup", db, "--backup-dir", backups], { cwd: dir, prefix: asBackup([]) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `${db} is in WAL mode and no connection has it open, so SQLite must create app.db-shm to read it, ` +
          `but nobody cannot write its folder ${join(dir, "app")} (1500:1500, mode 0755)`,
      );
      expect(r.stderr).toContain(`chmod g+rwxs ${join(dir, "app")}`);
      expect(r.stderr).toContain("immutable=1");
      expect(r.stderr).toContain("docs/least-privilege.md");
      expect(r.stderr).not.toMatch(/^\s+at /m);
    });

    it("refuses to create -shm/-wal that would lock the app out (group-writable folder, not setgid)", async () => {
      const { dir, app, db, backups } = setup(0o770, 0o640);
      const r = await runCli(["backup", db, "--backup-dir", backups], { cwd: dir, prefix: asBackup([APP_ID]) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        "reading it would create app.db-shm and app.db-wal owned by nobody:nogroup with mode 0640, " +
          "and 1500 could no longer open the database",
      );
      expect(readdirSync(app)).toEqual(["app.db"]);
      expect(appWrites(db).code).toBe(0);
    });

    it("the documented setup works: setgid group folder, database 0660, backup user in the app's group", async () => {
      const { dir, db, backups } = setup(0o2770, 0o660);
      const r = await runCli(["backup", db, "--backup-dir", backups], { cwd: dir, prefix: asBackup([APP_ID]) });
      expect(r.stderr).toContain("app: app-");
      expect(r.code).toBe(0);
      // The -shm and -wal that nobody's SQLite created are the app's group's, so the app still writes.
      expect(appWrites(db)).toMatchObject({ code: 0, out: "2" });
    });

    it("a WAL database the app has open (-shm present, readable) backs up without writing the folder", async () => {
      const { dir, db, backups } = setup(0o755, 0o644);
      const holder = Bun.spawn(
        [
          ...asApp,
          "/usr/bin/python3",
          "-c",
          `import sqlite3,sys\nc=sqlite3.connect(${JSON.stringify(db)})\nc.execute("INSERT INTO counter VALUES (2)")\nc.commit()\nprint("open",flush=True)\nsys.stdin.read()`,
        ],
        { stdin: "pipe", stdout: "pipe" },
      );
      try {
        const reader = holder.stdout.getReader();
        expect(new TextDecoder().decode((await reader.read()).value)).toContain("open");
        expect(existsSync(`${db}-shm`)).toBe(true);
        const r = await runCli(["backup", db, "--backup-dir", backups], { cwd: dir, prefix: asBackup([]) });
        expect(r.stderr).toContain("app: app-");
        expect(r.code).toBe(0);
      } finally {
        holder.stdin.end();
        await holder.exited;
      }
    });
  },
);
