/**
 * What must happen when one sqlbak run ends: a connection kept open for the
 * whole run (the SFTP session, docs/destinations.md) is closed here, once,
 * after the command returned or failed. cli.ts calls `endRun`; a run that is
 * abandoned (its timeout exits the process) or killed never gets here, and
 * relies on child-groups.ts instead.
 */

const tasks = new Set<() => Promise<void>>();

/** Runs `task` when the run ends; the returned function cancels that (the task ran early). */
export function atRunEnd(task: () => Promise<void>): () => void {
  tasks.add(task);
  return () => tasks.delete(task);
}

/** Runs every registered task (in registration order), each once; never throws. */
export async function endRun(): Promise<void> {
  const now = [...tasks];
  tasks.clear();
  for (const t of now) await t().catch(() => undefined);
}
