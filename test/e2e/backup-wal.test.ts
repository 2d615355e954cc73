/**
 * What a backup records of the WAL it read, and checkpoint starvation, through
 * the compiled binary: a WAL database whose application never checkpoints
 * (wal_autocheckpoint = 0, its connection kept open so the WAL stays) is
 * backed up as a file and as pages; the manifest records the frames read and
 * the -wal file's size, a backlog larger than the database is warned and is a
 * `stats --check` problem, and a checkpointed WAL is neither.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, it } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const PAGE = 4096;
/** Bytes of one WAL frame: its 24-byte header and the page. */
const FRAME = 24 + PAGE;

let app: Database | null = null;
afterEach(() => {
  app?.close();
  app = null;
});

/** A small WAL database (about 1 MiB) and the application's connection to it, which never checkpoints. */
function setup(incremental: boolean) {
  const dir = tempDir();
  const path = makeDatabase(join(dir, "app.db"), { rows: 200, payloadBytes: 3000 });
  writeFileSync(
    join(dir, "sqlbak.toml"),
    `backup_dir = "backups"\nincremental = ${incremental}\n[[database]]\nname = "app"\npath = "app.db"\n`,
  );
  app = new Database(path);
  app.run("PRAGMA wal_autocheckpoint = 0");
  return { dir, path, db: app };
}

/** Rewrites every row `passes` times, one commit each: about 200 frames per pass, the database stays its size. */
function churn(db: Database, passes: number) {
  const update = db.prepare("UPDATE items SET payload = randomblob(3000)");
  for (let i = 0; i < passes; i++) update.run();
  update.finalize();
}

async function backup(dir: string) {
  const r = await runCli(["backup", "--json"], { cwd: dir });
  expect(r.code).toBe(0);
  const [res] = parseJson(r.stdout).results as { manifest_path: string }[];
  return { stderr: r.stderr, manifest: JSON.parse(readFileSync(res!.manifest_path, "utf8")) };
}

describe.each([false, true])("backup of a WAL database (incremental = %p)", (incremental) => {
  it("records the frames it read and the -wal file's size; a small backlog is not warned", async () => {
    const { dir, path, db } = setup(incremental);
    churn(db, 3);
    const walBytes = statSync(`${path}-wal`).size;
    const { manifest, stderr } = await backup(dir);
    // A fresh WAL never restarted: the file holds exactly the frames up to the last commit.
    expect(manifest.snapshot.wal_frames).toBe((walBytes - 32) / FRAME);
    expect(manifest.snapshot.wal_frames).toBeGreaterThan(0);
    expect(manifest.snapshot.wal_bytes).toBe(walBytes);
    expect(stderr).not.toContain("checkpoint starvation");
  });

  it("warns of a backlog larger than the database and makes it a stats --check problem, until checkpointed", async () => {
    const { dir, path, db } = setup(incremental);
    churn(db, 90); // ~18,000 frames: ~75 MiB of WAL over a ~1 MiB database
    const walBytes = statSync(`${path}-wal`).size;
    expect(walBytes).toBeGreaterThan(64 * 1024 * 1024);
    const starved = await backup(dir);
    expect(starved.manifest.snapshot).toMatchObject({ wal_frames: (walBytes - 32) / FRAME, wal_bytes: walBytes });
    expect(starved.stderr).toMatch(/app: the WAL holds \d+ MiB written since its last restart \(-wal file/);
    expect(starved.stderr).toContain(
      "checkpoint starvation, the -wal file keeps growing and the application's reads slow down",
    );
    expect(starved.stderr).toContain("leave a gap between backups");
    const check = await runCli(["stats", "--check"], { cwd: dir });
    expect(check.code).toBe(3);
    expect(check.stdout).toContain(`checkpoint starvation`);
    expect(check.stdout).toContain(`(newest backup ${starved.manifest.id})`);

    // PASSIVE: every frame is in the database file, the -wal file keeps its size: nothing read, nothing to warn.
    db.run("PRAGMA wal_checkpoint(PASSIVE)");
    const passive = await backup(dir);
    expect(passive.manifest.snapshot).toMatchObject({ wal_frames: 0, wal_bytes: walBytes });
    expect(passive.stderr).not.toContain("checkpoint starvation");
    const healthy = await runCli(["stats", "--check"], { cwd: dir });
    expect(healthy.stdout).not.toContain("checkpoint starvation");
    expect(healthy.code).toBe(0);

    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const truncated = await backup(dir);
    expect(truncated.manifest.snapshot).toMatchObject({ wal_frames: 0, wal_bytes: 0 });
    expect(truncated.stderr).not.toContain("checkpoint starvation");
  });
});

describe("backup of a rollback-journal database", () => {
  it("records no WAL", async () => {
    const dir = tempDir();
    makeDatabase(join(dir, "app.db"), { journalMode: "delete" });
    writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "backups"\n[[database]]\nname = "app"\npath = "app.db"\n`);
    const { manifest } = await backup(dir);
    expect(manifest.snapshot).toMatchObject({ journal_mode: "delete", wal_frames: 0, wal_bytes: 0 });
  });
});
