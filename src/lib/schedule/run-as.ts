/**
 * `install-schedule --user-name NAME[:GROUP]`: system units that run the jobs as
 * a dedicated backup user instead of root (docs/least-privilege.md).
 */
import { chownSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { fsErrorMessage, OperationError, UsageError } from "../model/index.ts";

export interface RunAs {
  user: string;
  group?: string;
}

/** A user or group name as useradd/groupadd accept it, or a numeric id. */
const NAME_RE = /^(?:[a-z_][a-z0-9_-]{0,31}\$?|\d+)$/i;

/** Given `NAME` or `NAME:GROUP`, returns the user and group; throws a UsageError for anything else. */
export function parseRunAs(value: string): RunAs {
  const [user, group, ...rest] = value.split(":");
  const bad = [user, ...(group === undefined ? [] : [group])].find((n) => !NAME_RE.test(n ?? ""));
  if (rest.length > 0 || bad !== undefined)
    throw new UsageError(
      `--user-name ${JSON.stringify(value)} is not a user name`,
      "give NAME or NAME:GROUP (letters, digits, _ and -, starting with a letter or _)",
    );
  return group ? { user: user!, group } : { user: user! };
}

/** uid and primary gid of `user` from /etc/passwd (a numeric user is taken as is, gid = uid); null when unknown. */
export function lookupUser(user: string): { uid: number; gid: number } | null {
  if (/^\d+$/.test(user)) return { uid: Number(user), gid: Number(user) };
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":");
      if (f[0] === user && f[2] && f[3]) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no passwd file: unknown
  }
  return null;
}

/**
 * sqlbak reads its environment file only when the user running it owns it, so
 * the file that install-schedule just created as root is handed to `runAs.user`
 * (mode stays 0600). Returns a warning for a file it did not create and that
 * the user does not own, else null.
 */
export function handEnvFileTo(path: string, runAs: RunAs, created: boolean): string | null {
  const who = lookupUser(runAs.user);
  if (!who) return `user ${runAs.user} does not exist (create it first: useradd --system ${runAs.user})`;
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return null; // not created (dry run, or nothing to create)
  }
  if (st.uid !== who.uid) {
    if (!created)
      return `${path} is not owned by ${runAs.user}, who runs the jobs: sqlbak will refuse it (chown ${runAs.user} ${path})`;
    try {
      chownSync(path, who.uid, who.gid);
    } catch (err) {
      throw new OperationError(fsErrorMessage(err, "hand the environment file to", path));
    }
  }
  const dir = statSync(dirname(path));
  const reach = dir.mode & 0o001 || dir.uid === who.uid || (dir.gid === who.gid && dir.mode & 0o010);
  return reach
    ? null
    : `${runAs.user} cannot reach ${path}: its folder is mode ${(dir.mode & 0o777).toString(8)} (chmod o+x ${dirname(path)})`;
}
