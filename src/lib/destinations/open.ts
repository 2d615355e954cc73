/**
 * Destination name → backend. Each type's module is loaded only when a
 * destination of that type is used, so a dir-only setup never loads S3 or SSH code;
 * a `dir` destination is a local folder, the implementation backup_dir uses.
 */

import type { ResolvedConfig, ResolvedDestination } from "../config/index.ts";
import { describeError, OperationError, SqlbakError, UsageError } from "../model/index.ts";
import { type Backend, openLocalFolder } from "../store/index.ts";
import { atRunEnd } from "../system/index.ts";

/**
 * SFTP backends of this run, one per destination: its one SSH session serves
 * every step of the run (copy, rotation, id key fetch, listing), and is closed
 * when the run ends (system/run-end.ts), not when a step closes its backend.
 */
const runSftp = new Map<ResolvedDestination, Promise<Backend>>();

function sharedForRun(dest: ResolvedDestination, open: () => Promise<Backend>): Promise<Backend> {
  let shared = runSftp.get(dest);
  if (!shared) {
    if (runSftp.size === 0) atRunEnd(closeRunBackends);
    shared = open();
    runSftp.set(dest, shared);
    shared.catch(() => runSftp.delete(dest));
  }
  // Each caller gets a view whose close() only lets go of it.
  return shared.then((b) => ({ ...b, close: async () => {} }));
}

/** Closes the backends kept open for the run (cli.ts runs this through endRun); safe to call twice. */
export async function closeRunBackends(): Promise<void> {
  const open = [...runSftp.values()];
  runSftp.clear();
  for (const b of open) await (await b.catch(() => null))?.close().catch(() => undefined);
}

/** Opens the backend for one destination; throws (with advice) when it cannot even be set up. */
export async function openBackend(dest: ResolvedDestination): Promise<Backend> {
  switch (dest.type) {
    case "dir":
      // The same implementation as backup_dir (store/local-folder.ts), with a destination's guards.
      return openLocalFolder(dest.path, "destination");
    case "s3":
      return (await import("./s3.ts")).createS3Backend(dest);
    case "sftp":
      return sharedForRun(dest, async () =>
        (await import("./sftp.ts")).createSftpBackend({
          name: dest.name,
          host: dest.host,
          port: dest.port,
          user: dest.user,
          key_file: dest.keyFile,
          path: dest.path,
          known_hosts: dest.knownHosts,
        }),
      );
    case "rclone":
      return (await import("./rclone.ts")).createRcloneBackend(dest);
  }
}

/** One line for a destination failure, with the advice when the error carries one (no stack, no second line). */
export function describeFailure(err: unknown): string {
  return err instanceof SqlbakError && err.hint ? `${err.message} (${err.hint})` : describeError(err);
}

/**
 * Opens the backend, or returns why it cannot be opened as an Error with a
 * one-line message: callers that report per database raise it for each.
 */
export async function tryOpenBackend(dest: ResolvedDestination): Promise<Backend | Error> {
  try {
    return await openBackend(dest);
  } catch (err) {
    return new Error(describeFailure(err), { cause: err });
  }
}

/** The destination called `name` (`--from NAME`); a UsageError naming the configured ones otherwise. */
export function findDestination(config: ResolvedConfig, name: string): ResolvedDestination {
  const d = config.destinations.find((x) => x.name === name);
  if (d) return d;
  const names = config.destinations.map((x) => x.name);
  throw new UsageError(
    `unknown destination "${name}"`,
    names.length
      ? `configured destinations: ${names.join(", ")}`
      : `no [[destination]] in ${config.file ?? "the config (none found)"}`,
  );
}

/**
 * Runs `fn` with an open backend and always closes it. A failure that is not
 * already a SqlbakError (a file system or network error from a backend)
 * becomes an OperationError naming the destination: exit 1, not "a bug".
 */
export async function withBackend<T>(dest: ResolvedDestination, fn: (b: Backend) => Promise<T>): Promise<T> {
  let backend: Backend | null = null;
  try {
    backend = await openBackend(dest);
    return await fn(backend);
  } catch (err) {
    if (err instanceof SqlbakError) throw err;
    const message = describeError(err);
    // An SFTP error names its destination already (`sftp destination "x" (sftp://…): …`): not twice.
    if (backend && message.includes(`"${dest.name}" (${backend.describe})`))
      throw new OperationError(message, { cause: err });
    throw new OperationError(`destination ${dest.name}${backend ? ` (${backend.describe})` : ""}: ${message}`, {
      cause: err,
    });
  } finally {
    await backend?.close().catch(() => undefined);
  }
}
