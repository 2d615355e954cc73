/**
 * Worker thread of a page-level snapshot: runs the reader's work (reader-core.ts)
 * on the spare core, so the check of the pinned state (quick_check /
 * integrity_check, schema and row counts) runs while the main thread copies
 * and compresses it, and needs no copy on disk.
 * The check starts only when asked ("check"), so a snapshot whose image is one
 * that passed its check already can end without spending CPU on it.
 * Ends the transaction only when told the copy is done.
 *   main → {type:"start", source, check}   ← {type:"pinned", pin}
 *   main → {type:"check"} (optional)        ← {type:"checked", check, facts}
 *   main → {type:"finish"}                  ← {type:"closed"}
 * Any failure: ← {type:"error", ...} after the connection is closed.
 * Listed as a second entry point of the compiled binary (package.json build).
 */
import { type CheckLevel, describeError, OperationError } from "../model/index.ts";
import type { CheckResult, DatabaseFacts } from "./inspect.ts";
import type { Pinned } from "./pin.ts";
import { ReaderCore } from "./reader-core.ts";

export type ReaderRequest =
  | { type: "start"; source: string; check: CheckLevel }
  | { type: "check" }
  | { type: "finish" };
export type ReaderMessage =
  | { type: "pinned"; pin: Pinned }
  | { type: "checked"; check: CheckResult; facts: DatabaseFacts }
  | { type: "closed" }
  | { type: "error"; message: string; code?: string; hint?: string; operation: boolean };

declare const self: Worker;
const post = (m: ReaderMessage) => self.postMessage(m);

let core: ReaderCore | undefined;

self.onmessage = (event: MessageEvent<ReaderRequest>) => {
  const req = event.data;
  try {
    if (req.type === "start") {
      core = new ReaderCore(req.source, req.check);
      return post({ type: "pinned", pin: core.pin() });
    }
    if (req.type === "check") {
      if (!core) throw new Error("snapshot reader: check before start");
      return post({ type: "checked", ...core.check() });
    }
    core?.close();
    post({ type: "closed" });
  } catch (err) {
    try {
      core?.close();
    } catch {
      // the first error is the one to report
    }
    const e = err as { code?: string; hint?: string };
    post({
      type: "error",
      message: describeError(err),
      code: e.code,
      hint: e.hint,
      operation: err instanceof OperationError,
    });
  }
};
