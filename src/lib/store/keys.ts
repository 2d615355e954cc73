/**
 * Destination keys are `<database>/<file name>`. They come from our own names
 * (database names, backup ids) or from a remote listing, so each is checked
 * before it becomes a local or remote path: nothing can climb out of a root.
 */
import { DATABASE_NAME_RE } from "../model/index.ts";

const FILE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/** Throws unless `key` is exactly `<database>/<file>` with safe parts. */
export function assertKey(key: string): void {
  const parts = key.split("/");
  if (parts.length !== 2 || !DATABASE_NAME_RE.test(parts[0]!) || !FILE_RE.test(parts[1]!) || parts[1]!.includes("..")) {
    throw new Error(`unsafe destination key ${JSON.stringify(key)}`);
  }
}

/** `app/` for listing one database; "" lists everything. */
export function databasePrefix(database: string): string {
  if (!DATABASE_NAME_RE.test(database)) throw new Error(`unsafe database name ${JSON.stringify(database)}`);
  return `${database}/`;
}
