/** The one line that says why a backup failed: a SQLite error names the source, a file-system one the path. */
import { describeError, fsErrorMessage, SqlbakError } from "../model/index.ts";

export function describeFailure(err: unknown, backupDir: string, source: string): string {
  if (err instanceof SqlbakError) return err.hint ? `${err.message} (${err.hint})` : err.message;
  const e = err as NodeJS.ErrnoException;
  // SQLite's errors carry a code too, but they are about a database, not a path under the backup folder.
  if (e?.code === "SQLITE_CORRUPT" || e?.code === "SQLITE_NOTADB")
    return `not a SQLite database, or damaged: ${source} (${describeError(err)})`;
  if (e?.code?.startsWith("SQLITE_")) return `backup of ${source} failed: ${describeError(err)}`;
  if (e?.code && e.path) return fsErrorMessage(err, "write", e.path);
  if (e?.code) return fsErrorMessage(err, "write backup under", backupDir);
  return describeError(err);
}
