/**
 * Small tmpfs mounts for the full-disk tests. Whether this machine lets the
 * test process mount one is checked once, by mounting and unmounting a probe;
 * tests that need it use `it.skipIf(!canMountTmpfs)` so that elsewhere they
 * are reported (and counted) as skipped instead of passing without running.
 * Once a test has decided to run, a mount that fails is a test failure.
 */
import { mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function probe(): string | null {
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root (run the suite as root, e.g. in CI's container)";
  const dir = mkdtempSync(join(tmpdir(), "sqlbak-tmpfs-probe-"));
  try {
    const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stderr: "pipe" });
    if (r.exitCode !== 0) return `cannot mount a tmpfs: ${r.stderr.toString().trim()}`;
    Bun.spawnSync(["umount", dir]);
    return null;
  } finally {
    rmdirSync(dir);
  }
}

/** Why a tmpfs cannot be mounted here, or null when it can. */
export const tmpfsUnavailable: string | null = probe();
export const canMountTmpfs = tmpfsUnavailable === null;
if (tmpfsUnavailable) console.warn(`full-disk tests skipped: ${tmpfsUnavailable}`);

/** Mounts a tmpfs of `size` (mount's syntax: "1m", "640k") on `dir`; throws when it cannot. */
export function mountTmpfs(dir: string, size: string): void {
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cannot mount a tmpfs on ${dir}: ${r.stderr.toString().trim()}`);
}

/** Unmounts (lazily, so a lingering open file cannot keep it) the tmpfs on `dir`. */
export function unmountTmpfs(dir: string): void {
  Bun.spawnSync(["umount", "-l", dir]);
}
