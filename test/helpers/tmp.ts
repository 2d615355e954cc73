/** Each test gets its own mkdtemp folder, removed after it (test/setup.ts); never a path relative to the cwd. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];

/** A fresh temporary folder, deleted after the current test. */
export function tempDir(prefix = "sqlbak-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes the folders made by tempDir() so far. */
export function removeTestDirs(): void {
  while (made.length) rmSync(made.pop()!, { recursive: true, force: true });
}
