/** Debian's systemd-analyze verify over rendered unit files, as the schedule tests run it. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RenderedFile } from "../../src/lib/schedule/common.ts";
import { tempDir } from "./tmp.ts";

/** Writes `files` into a fresh folder and runs `systemd-analyze verify` on them (with `--user` for user units). */
export function systemdVerify(files: RenderedFile[], system: boolean): { stderr: string; exitCode: number } {
  const dir = tempDir();
  for (const f of files) writeFileSync(join(dir, f.name), f.content);
  const proc = Bun.spawnSync(
    ["systemd-analyze", "verify", ...(system ? [] : ["--user"]), ...files.map((f) => join(dir, f.name))],
    // --user needs a runtime folder even without a running user manager.
    { env: { ...process.env, SYSTEMD_LOG_LEVEL: "warning", XDG_RUNTIME_DIR: tempDir() } },
  );
  return { stderr: proc.stderr.toString(), exitCode: proc.exitCode ?? -1 };
}
