/**
 * `rotate` over the kept copies of a configured database (the replaced files
 * restore keeps beside it, store/kept-copies.ts): the newest
 * `keep_pre_restore` stay, as pre-restore backups do, the others go with
 * their sidecars, each logged before it is removed. Found from the
 * configured path: a database known only by its backups has none here.
 * See docs/retention.md#kept-copies-beside-the-database.
 */
import { dirname } from "node:path";
import { type ResolvedConfig, type RetentionPolicy, UNLIMITED } from "../config/index.ts";
import { fsErrorMessage } from "../model/index.ts";
import { appendOpLog, KEPT_KIND, keptCopiesOf, planKeptRotation, removeKeptCopy } from "../store/index.ts";
import { fsyncDir, pausePoint } from "../system/index.ts";

/** One kept copy in rotate's result: keep or remove, and why. */
export interface KeptDecision {
  file: string;
  created_at: string;
  size: number;
  kind: typeof KEPT_KIND;
  action: "keep" | "remove";
  reasons: string[];
  removal?: string;
}

const countText = (n: number) => (n === UNLIMITED ? "unlimited" : String(n));

/** The plan for the kept copies of `database` (newest first); none when it is not configured. */
export function planKeptCopies(config: ResolvedConfig, database: string, policy: RetentionPolicy): KeptDecision[] {
  const db = config.databases.find((d) => d.name === database);
  if (!db) return [];
  const keep = policy.keepPreRestore;
  return planKeptRotation(keptCopiesOf(db.path), keep).map(({ copy, keep: k }) => ({
    file: copy.path,
    created_at: copy.created_at,
    size: copy.size,
    kind: KEPT_KIND,
    action: k ? "keep" : "remove",
    reasons: k ? [`pre-restore ${countText(keep)}`] : [],
    ...(k ? {} : { removal: `older than the newest ${countText(keep)} pre-restore files` }),
  }));
}

/**
 * Removes the kept copies `plan` dooms (under the caller's lock of the
 * database); pushes each removed path (sidecars too) to `removed` and
 * returns the failures, one line each.
 */
export function removeKeptCopies(
  config: ResolvedConfig,
  database: string,
  plan: KeptDecision[],
  removed: string[],
  warnings: string[],
): string[] {
  const failures: string[] = [];
  const doomed = plan.filter((d) => d.action === "remove");
  for (const d of doomed) {
    const w = appendOpLog(config.logFile, { op: "rotate-remove-file", database, ok: true, file: d.file });
    if (w && !warnings.includes(w)) warnings.push(w);
    try {
      removed.push(...removeKeptCopy(d.file));
      pausePoint("rotate:kept-removed");
    } catch (err) {
      failures.push(fsErrorMessage(err, "remove pre-restore file", d.file));
    }
  }
  if (doomed.length > 0) fsyncDir(dirname(doomed[0]!.file));
  return failures;
}
