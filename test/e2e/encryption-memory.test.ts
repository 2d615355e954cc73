/**
 * Memory stays flat while encrypting: a backup and a verify of a database
 * larger than the bound, incompressible so the encrypted file is as large,
 * must keep the binary's anonymous memory under it. Anonymous, not total RSS:
 * file-backed pages (the image read through the kernel's page cache) count in
 * RSS but are reclaimed by the kernel; SQLite's own page cache for the checks
 * is capped (src/lib/snapshot/inspect.ts) and counts as anonymous.
 */
import { describe, expect, it } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withDatabase } from "../helpers/backups.ts";
import { BIN, cleanEnv } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const MiB = 1024 * 1024;
const BOUND_BYTES = 256 * MiB;
const DB_BYTES = 400 * MiB;

/** Runs the binary, sampling /proc/<pid>/status; returns the exit code and the peak RssAnon seen. */
async function runMeasured(
  args: string[],
  cwd: string,
): Promise<{ code: number; stderr: string; peakAnonBytes: number }> {
  const proc = Bun.spawn([BIN, ...args], {
    cwd,
    env: cleanEnv({}, cwd),
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let peak = 0;
  const sample = () => {
    try {
      const kib = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))?.[1];
      if (kib) peak = Math.max(peak, Number(kib) * 1024);
    } catch {
      // exited between samples
    }
  };
  const timer = setInterval(sample, 10);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearInterval(timer);
  return { code, stderr, peakAnonBytes: peak };
}

describe("encryption memory", () => {
  it("keeps anonymous memory under 256 MiB while encrypting and decrypting a 400 MiB database", async () => {
    const dir = tempDir();
    const db = join(dir, "big.db");
    withDatabase(db, (d) => {
      d.prepare("PRAGMA journal_mode = wal").run();
      d.prepare("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)").run();
      d.prepare("BEGIN").run();
      const insert = d.prepare("INSERT INTO blobs (data) VALUES (randomblob(65536))");
      for (let i = 0; i < DB_BYTES / 65536; i++) insert.run();
      d.prepare("COMMIT").run();
    });
    const keyFile = join(dir, "key.txt");
    Bun.spawnSync(["age-keygen", "-o", keyFile]);
    const recipient = Bun.spawnSync(["age-keygen", "-y", keyFile]).stdout.toString().trim();
    writeFileSync(
      join(dir, "sqlbak.toml"),
      `backup_dir = "backups"\n[encryption]\nrecipients = ["${recipient}"]\n` +
        `[[database]]\nname = "big"\npath = "big.db"\n`,
    );

    const backup = await runMeasured(["backup", "big"], dir);
    expect({ code: backup.code, stderr: backup.stderr }).toMatchObject({
      code: 0,
      stderr: expect.stringContaining("big: big-"),
    });
    // What the backup stored, in either format: one .sqlite.zst.age file, or a map and its packs.
    const stored = (await Array.fromAsync(new Bun.Glob("backups/big/*.json").scan({ cwd: dir })))[0]!;
    const m = JSON.parse(readFileSync(join(dir, stored), "utf8"));
    expect(m.stored.encryption).toMatchObject({ type: "age" });
    const files: string[] = [m.stored.file, ...(m.stored.packs ?? []).map((x: { name: string }) => x.name)];
    const bytes = files.reduce((n, f) => n + statSync(join(dir, "backups", "big", f)).size, 0);
    expect(bytes).toBeGreaterThan(DB_BYTES);
    expect(backup.peakAnonBytes).toBeGreaterThan(0);
    expect(backup.peakAnonBytes).toBeLessThan(BOUND_BYTES);

    const verify = await runMeasured(["verify", "big", "--identity", keyFile], dir);
    expect({ code: verify.code, stderr: verify.stderr }).toMatchObject({
      code: 0,
      stderr: expect.stringContaining(": ok (quick"),
    });
    expect(verify.peakAnonBytes).toBeLessThan(BOUND_BYTES);
  }, 180_000);
});
