/**
 * This machine's host name, read once per process: a manifest, a lock's holder
 * info and an event each record it, and under load `os.hostname()` took about
 * 0.8 ms a call (a system call each time), paid per database of a fleet run.
 * A rename of the host while one run is going is not followed (the next run is).
 */
import { hostname } from "node:os";

let cached: string | undefined;

export function hostName(): string {
  cached ??= hostname();
  return cached;
}
