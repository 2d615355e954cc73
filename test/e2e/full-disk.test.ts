/**
 * A full backup_dir, on a real 1 MiB tmpfs filled to its last byte: `rotate`
 * (the command that frees space) and `verify` must still work. The tmpfs is
 * mounted as root, or in a user + mount namespace otherwise; where neither
 * works the tests are skipped, visibly (test/helpers/tmpfs.ts).
 */
import { describe, expect } from "bun:test";
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { appendUntilFull, itWithTmpfs, mountTmpfs, unmountTmpfs } from "../helpers/tmpfs.ts";

/** Fills the file system of `dir` to the last byte: a filler file, then the slack of the op log's last page. */
function fill(dir: string): void {
  appendUntilFull(join(dir, "filler"), new Uint8Array(4096));
  appendUntilFull(join(dir, "filler"), new Uint8Array(1));
  // The log's last page has room left: pad it with blank lines (readers skip them) so an append needs a new page.
  appendUntilFull(join(dir, "sqlbak.log.jsonl"), new TextEncoder().encode("\n"));
  expect(statfsSync(dir).bavail).toBe(0);
}

/** A project whose backup_dir is a fresh 1 MiB tmpfs; `run` is called with it mounted and unmounts after. */
async function withFullDisk(
  run: (p: { dir: string; backups: string; folder: string; ids: string[] }) => Promise<void>,
) {
  const dir = tempDir();
  const backups = join(dir, "backups");
  mkdirSync(backups);
  mountTmpfs(backups, "1m");
  try {
    makeDatabase(join(dir, "app.db"), { rows: 200, payloadBytes: 1000, journalMode: "delete" });
    writeFileSync(
      join(dir, "sqlbak.toml"),
      `backup_dir = "backups"\ntimezone = "UTC"\n[retention]\nkeep_last = 1\nkeep_daily = 0\n` +
        `keep_weekly = 0\nkeep_monthly = 0\n[[database]]\nname = "app"\npath = "app.db"\n`,
    );
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = await runCli(["backup", "app", "--kind", "scheduled", "--json"], { cwd: dir });
      expect(b.code).toBe(0);
      ids.push(parseJson(b.stdout).results[0].id);
    }
    fill(backups);
    await run({ dir, backups, folder: join(backups, "app"), ids });
  } finally {
    unmountTmpfs(backups);
  }
}

/** The backup's own data file: `<id>.sqlite.zst`, or the map `<id>.map.zst` of an incremental backup. */
function storedFile(folder: string, id: string): string {
  return JSON.parse(readFileSync(join(folder, `${id}.json`), "utf8")).stored.file;
}

describe("a full backup_dir", () => {
  itWithTmpfs(
    import.meta.path,
    "rotate takes the lock, removes the doomed backups and frees space; an op-log line without room is a warning",
    async () => {
      await withFullDisk(async ({ dir, backups, folder, ids }) => {
        const r = await runCli(["rotate", "--json"], { cwd: dir });
        expect(r.stderr).not.toContain("cannot take the lock");
        expect(r.code).toBe(0);
        const [result] = parseJson(r.stdout).results;
        expect(result.ok).toBe(true);
        expect([...result.removed].sort()).toEqual([ids[0], ids[1]].sort());
        // The line logged before the first removal had no room: a warning, and the removal went ahead.
        expect(result.warnings.join("\n")).toContain("could not write operation log");
        const left = readdirSync(folder).filter((f) => f.startsWith("app-"));
        expect(left.sort()).toEqual([`${ids[2]}.json`, storedFile(folder, ids[2]!)]);
        expect(statfsSync(backups).bavail).toBeGreaterThan(0);
      });
    },
  );

  itWithTmpfs(
    import.meta.path,
    "verify checks the backup, reports the result, warns it could not record it, and exits by the verdict",
    async () => {
      await withFullDisk(async ({ dir, ids }) => {
        const r = await runCli(["verify", "app", "--latest", "--json"], { cwd: dir });
        expect(r.stderr).not.toContain("cannot take the lock");
        expect(r.code).toBe(0);
        const [result] = parseJson(r.stdout).results;
        expect(result).toMatchObject({ id: ids[2], ok: true, problems: [] });
        expect(result.warning).toMatch(/not recorded/);
        expect(r.stderr).toMatch(/not recorded/);
      });
    },
  );

  itWithTmpfs(
    import.meta.path,
    "verify of a damaged backup on a full disk fails it with exit 3, though it cannot record it",
    async () => {
      await withFullDisk(async ({ dir, folder, ids }) => {
        // One byte flipped in place: no new block needed (an incremental backup's map is under 100 bytes).
        const data = join(folder, storedFile(folder, ids[2]!));
        const fd = openSync(data, "r+");
        writeSync(fd, new Uint8Array([0x42]), 0, 1, Math.min(100, statSync(data).size - 8));
        closeSync(fd);
        const r = await runCli(["verify", "app", "--latest", "--json"], { cwd: dir });
        expect(r.code).toBe(3);
        const [result] = parseJson(r.stdout).results;
        expect(result).toMatchObject({ id: ids[2], ok: false });
        expect(result.problems.length).toBeGreaterThan(0);
        expect(result.warning).toMatch(/not recorded/);
      });
    },
  );
});
