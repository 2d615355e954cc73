/**
 * Named pause points for the fault-injection tests (test/faults/), so a test
 * can kill -9 the binary at an exact step instead of guessing by timing.
 * Inert in normal use: the two variables are read once at start-up and, when
 * unset, `pausePoint` is a single comparison.
 *
 * With `SQLBAK_TEST_PAUSE_AT=<step>` (or `<step>@<n>`: the n-th time the step is
 * reached, default the first) and `SQLBAK_TEST_PAUSE_FILE=<path>`, the process
 * writes its pid to <path> on reaching the step and then blocks (the whole
 * process: locks stay held, nothing else runs) until <path> is deleted. The
 * test either kills it there or deletes the file to let it go on.
 *
 * Steps: backup:snapshot-taken, backup:data-committed (data renamed into place,
 * or a pages backup's packs and map; manifest not yet written), rotate:manifest-removed (one backup's manifest
 * unlinked and the folder fsynced, its data file not yet), rotate:backup-removed,
 * rotate:pieces-freeing (every doomed backup removed, no piece freed yet; only in a
 * folder with pieces), rotate:piece-freed (one more pack or pack index freed),
 * rotate:remote-piece-freed (one more marked piece removed at a destination),
 * restore:copy-ready (checked copy beside the target), restore:pre-restore-taken,
 * restore:renamed (copy renamed over the target, before its quick_check),
 * verify:decompressed (copy decompressed, not yet inspected).
 */
import { existsSync, writeFileSync } from "node:fs";

const spec = process.env.SQLBAK_TEST_PAUSE_AT;
const file = process.env.SQLBAK_TEST_PAUSE_FILE;
const [step, nth] = spec ? [spec.split("@")[0], Number(spec.split("@")[1] ?? 1)] : [undefined, 0];
let hits = 0;

/** Pauses here when the test hook names this step (see the module doc); otherwise returns at once. */
export function pausePoint(name: string): void {
  if (name !== step || !file) return;
  if (++hits !== nth) return;
  writeFileSync(file, String(process.pid));
  while (existsSync(file)) Bun.sleepSync(10);
}
