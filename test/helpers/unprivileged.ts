/**
 * Permission faults need an unprivileged process: root ignores file modes. As
 * root (CI), the binary runs as nobody via setpriv, on files handed to nobody;
 * as any other user it runs as that user and the modes apply already.
 */
import { spawnSync } from "bun";

export const AS_NOBODY: string[] =
  process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];

/** Makes `dir` and everything under it nobody's when we are root (no-op otherwise). */
export function handToNobody(dir: string): void {
  if (AS_NOBODY.length === 0) return;
  const r = spawnSync(["chown", "-R", "65534:65534", dir]);
  if (r.exitCode !== 0) throw new Error(`chown -R nobody ${dir} failed: ${r.stderr.toString()}`);
}
