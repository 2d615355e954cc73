import { makeNotification, type Notification } from "../notify/index.ts";

/** What the event needs of a RotateResult (rotate-result.ts; rotate.ts sends it; named here to keep the files acyclic). */
export interface RotationOutcome {
  database: string;
  ok: boolean;
  dry_run: boolean;
  policy: string;
  removed: string[];
  backups: { id: string; created_at: string; action: "keep" | "remove"; removal?: string }[];
  freed_bytes: number;
  error?: string;
}

/**
 * A `rotate` event for a rotation that removed something or failed (nothing
 * for one that only kept, nor for a dry run): what was removed and why.
 */
export function rotateNotification(r: RotationOutcome): Notification | null {
  if (r.dry_run || (r.ok && r.removed.length === 0)) return null;
  const removedIds = new Set(r.removed);
  const removed = r.backups
    .filter((b) => removedIds.has(b.id))
    .map((b) => ({ id: b.id, created_at: b.created_at, reason: b.removal ?? `kept by no rule of ${r.policy}` }));
  const kept = r.backups.filter((b) => b.action === "keep").length;
  return makeNotification({
    event: "rotate",
    ok: r.ok,
    title: r.ok
      ? `sqlbak: rotated ${r.removed.length} backup${r.removed.length === 1 ? "" : "s"} of ${r.database}`
      : `sqlbak: rotation of ${r.database} FAILED`,
    message:
      `Rotation of ${r.database} (${r.policy}) removed ${r.removed.length}, kept ${kept}` +
      (r.error ? `; it failed: ${r.error}` : ""),
    database: r.database,
    policy: r.policy,
    removed,
    kept,
    freed_bytes: r.freed_bytes,
    error: r.error,
  });
}
