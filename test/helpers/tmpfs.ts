/**
 * Small tmpfs mounts for the full-disk tests. How this machine lets a test
 * mount one is checked once:
 * - as root, by mounting directly;
 * - otherwise in a user + mount namespace (`unshare -rm`): the test is run
 *   again, alone, by a `bun test` inside such a namespace (where it is root of
 *   its own mounts), and must pass there;
 * - where neither works, the test is skipped (visibly: reported and counted as
 *   skipped), never passed without running.
 * Once a test runs, a mount that fails is a test failure.
 */
import { expect, it } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmdirSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const IN_NAMESPACE = "SQLBAK_TEST_TMPFS_NAMESPACE";

function tryMount(prefix: string[]): string | null {
  const dir = mkdtempSync(join(tmpdir(), "sqlbak-tmpfs-probe-"));
  try {
    const r = Bun.spawnSync([...prefix, "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0" && umount "$0"', dir], {
      stderr: "pipe",
    });
    return r.exitCode === 0 ? null : r.stderr.toString().trim() || `exit ${r.exitCode}`;
  } catch (err) {
    return String(err);
  } finally {
    rmdirSync(dir);
  }
}

function probe(): { direct: boolean; namespace: boolean; reason: string | null } {
  if (process.getuid?.() === 0) {
    const err = tryMount([]);
    if (!err) return { direct: true, namespace: false, reason: null };
    if (process.env[IN_NAMESPACE])
      return { direct: false, namespace: false, reason: `cannot mount a tmpfs inside the namespace: ${err}` };
    const nsErr = tryMount(["unshare", "-rm"]);
    return nsErr
      ? { direct: false, namespace: false, reason: `cannot mount a tmpfs (${err}), nor in a user namespace (${nsErr})` }
      : { direct: false, namespace: true, reason: null };
  }
  const nsErr = tryMount(["unshare", "-rm"]);
  return nsErr
    ? { direct: false, namespace: false, reason: `not root, and no user namespace to mount a tmpfs in: ${nsErr}` }
    : { direct: false, namespace: true, reason: null };
}

const how = probe();
/** Why a tmpfs cannot be mounted here at all, or null when it can (directly or in a namespace). */
export const tmpfsUnavailable: string | null = how.reason;
if (tmpfsUnavailable) console.warn(`full-disk tests skipped: ${tmpfsUnavailable}`);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * `it(title, fn)` for a test that mounts a tmpfs (with mountTmpfs). `file` is
 * the calling test file (import.meta.path), for re-running it in a namespace.
 */
export function itWithTmpfs(file: string, title: string, fn: () => Promise<void>, timeoutMs = 60_000): void {
  if (how.direct) return void it(title, fn, timeoutMs);
  if (!how.namespace) return void it.skip(`${title} (skipped: ${tmpfsUnavailable})`, fn);
  it(
    `${title} (in a user + mount namespace)`,
    async () => {
      const proc = Bun.spawn(
        [
          "unshare",
          "-rm",
          process.execPath,
          "test",
          "--timeout",
          String(timeoutMs),
          file,
          "-t",
          `${escapeRegExp(title)}$`,
        ],
        {
          env: { ...process.env, [IN_NAMESPACE]: "1" },
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      let out: string, err: string, code: number;
      try {
        [out, err, code] = await Promise.all([
          new Response(proc.stdout).text(),
          new Response(proc.stderr).text(),
          proc.exited,
        ]);
      } finally {
        if (proc.exitCode === null) proc.kill("SIGKILL");
      }
      const report = out + err;
      // Exactly this one test ran there and passed: not skipped, not filtered away.
      expect(
        { code, ran: /^\s*1 pass$/m.test(report) && /^\s*0 fail$/m.test(report) && !/^\s*\d+ skip$/m.test(report) },
        report,
      ).toEqual({ code: 0, ran: true });
    },
    timeoutMs + 10_000,
  );
}

/** Mounts a tmpfs of `size` (mount's syntax: "1m", "640k") on `dir`; throws when it cannot. */
export function mountTmpfs(dir: string, size: string): void {
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cannot mount a tmpfs on ${dir}: ${r.stderr.toString().trim()}`);
}

/** Unmounts (lazily, so a lingering open file cannot keep it) the tmpfs on `dir`. */
export function unmountTmpfs(dir: string): void {
  Bun.spawnSync(["umount", "-l", dir]);
}

/** Appends `chunk` to `path` until the file system refuses with ENOSPC. */
export function appendUntilFull(path: string, chunk: Uint8Array): void {
  const fd = openSync(path, "a");
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
}
