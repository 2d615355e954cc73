/** Config files for tests: real TOML files in mkdtemp folders, loaded through the real pipeline. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/lib/config/load.ts";
import { ConfigError } from "../../src/lib/model/errors.ts";
import { tempDir } from "./tmp.ts";

/**
 * Writes `toml` as sqlbak.toml in a fresh folder; `config()` loads it with a clean environment (HOME is that folder).
 */
export function configProject(toml: string | Uint8Array, env: Record<string, string> = {}) {
  const dir = tempDir();
  writeFileSync(join(dir, "sqlbak.toml"), toml);
  return { dir, config: () => loadConfig({}, { HOME: dir, ...env }, dir) };
}

/** Every problem that loading `toml` reports; empty when it loads. */
export function configProblems(toml: string | Uint8Array): string[] {
  try {
    configProject(toml).config();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
