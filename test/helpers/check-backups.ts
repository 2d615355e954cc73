/**
 * Independent checks of what sqlbak left on disk, using only outside tools
 * (sha256 here, the zstd CLI, SQLite, and for incremental backups the
 * stdlib-only scripts/sqlbak-reassemble.py): every listed backup must be whole.
 */
import { expect } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { integrityCheck } from "./db.ts";
import { parseJson } from "./json.ts";
import { type CliResult, runCli } from "./run-cli.ts";

export interface ListedBackup {
  id: string;
  file: string;
  manifest: string;
  stored: { sha256: string; size: number; compression: string; format?: string };
  raw: { sha256: string; size: number };
}

const REASSEMBLE = join(import.meta.dir, "../../scripts/sqlbak-reassemble.py");

export function sha256File(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * Rebuilds listed backup `b` into `out` with outside tools: `zstd -d` of a
 * self-contained file, or the reassembly script (which checks the map and every
 * pack it reads against the manifest) for an incremental backup.
 */
export function rebuildBackup(b: ListedBackup, out: string): void {
  rmSync(out, { force: true }); // neither tool is asked to overwrite: a scratch folder checked twice
  if (b.stored.format === "pages") {
    const r = Bun.spawnSync(["python3", REASSEMBLE, b.manifest, out], { stderr: "pipe" });
    expect(r.stderr.toString()).toContain(`${b.id} rebuilt as`);
    expect(r.exitCode).toBe(0);
  } else {
    const z = Bun.spawnSync(["zstd", "-d", "-q", "-f", b.file, "-o", out]);
    expect(z.exitCode).toBe(0);
  }
}

/** Lists backups with the binary and proves each one restores: checksums, a rebuild (above), integrity_check. */
export async function expectAllListedBackupsWhole(cwd: string, scratch: string): Promise<ListedBackup[]> {
  const list = await runCli(["list", "--json"], { cwd });
  expect(list.code).toBe(0);
  const backups = parseJson(list.stdout).backups as ListedBackup[];
  for (const b of backups) {
    expect(sha256File(b.file)).toBe(b.stored.sha256);
    if (b.stored.format === "pages") {
      const manifest = JSON.parse(readFileSync(b.manifest, "utf8"));
      for (const pack of manifest.stored.packs) expect(sha256File(join(dirname(b.file), pack.name))).toBe(pack.sha256);
    }
    const out = join(scratch, `${b.id}.db`);
    rebuildBackup(b, out);
    expect(sha256File(out)).toBe(b.raw.sha256);
    expect(integrityCheck(out)).toBe("ok");
  }
  return backups;
}

/** `verify --all` through the binary passes on every listed backup, and no manifest was skipped as broken. */
export async function expectVerifyAllPasses(cwd: string, prefix?: string[]): Promise<void> {
  const r = await runCli(["verify", "--all"], { cwd, prefix });
  if (r.code === 3 && r.stderr.includes("nothing to verify")) return;
  expect(r.stderr).not.toContain("skipped");
  expect(r.stderr).not.toContain("FAILED");
  expect(r.code).toBe(0);
}

/**
 * A failed run as documented: one `[error]` line, the last, saying `message`; no
 * stack trace; exit `code`. `verify` also prints one `FAILED` line per failed
 * backup before its summary: pass `failedBackups` for those.
 */
export function expectCleanFailure(r: CliResult, code: number, message: string | RegExp, failedBackups = 0): void {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain("looks like a bug");
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("[error]"));
  expect(errors).toHaveLength(1 + failedBackups);
  expect(errors.slice(0, failedBackups).every((l) => l.includes(": FAILED "))).toBe(true);
  if (typeof message === "string") expect(errors.at(-1)).toContain(message);
  else expect(errors.at(-1)).toMatch(message);
  expect(r.code).toBe(code);
}
