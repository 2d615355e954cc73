/**
 * Preloaded before every test file (bunfig.toml): all temporary folders of a
 * run live under one root, removed when the run ends, and each test's own
 * folders (helpers/tmp.ts) are removed after it. A hook registered by a helper
 * module would only apply to the first test file that imports it.
 */
import { afterAll, afterEach } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTestDirs } from "./helpers/tmp.ts";

const root = mkdtempSync(join(tmpdir(), "sqlbak-tests-"));
// Like /tmp: tests that run the binary as `nobody` must reach their folders below.
chmodSync(root, 0o1777);
process.env.TMPDIR = root;

afterEach(removeTestDirs);
// In a preload, afterAll runs once, after the last test of the last file.
afterAll(() => rmSync(root, { recursive: true, force: true }));
