/**
 * Least privilege: can this user read a WAL database without harming it?
 * SQLite reads a WAL database through its `-shm` wal-index. When no connection
 * has the database open, `-shm` and `-wal` do not exist and even a read-only
 * connection creates them, in the database's folder, owned by the user sqlbak
 * runs as, with the database file's mode. So a backup user who cannot write the
 * folder cannot read the database, and one who can may leave files behind that
 * lock the app out. docs/least-privilege.md describes the setup that works.
 */
import { accessSync, closeSync, constants, openSync, readFileSync, readSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { basename, dirname } from "node:path";
import { OperationError } from "../model/index.ts";

const DOC = "see docs/least-privilege.md";
const IMMUTABLE_NOTE =
  "a read-only open without -shm needs SQLite's immutable=1, which assumes nothing writes the database " +
  "(a write during the backup gives a corrupt copy), so sqlbak does not use it on a live database";

/** Bytes 18 and 19 of the header (write and read format version) are 2 in WAL mode. */
function isWalMode(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(20);
    return readSync(fd, buf, 0, 20, 0) === 20 && buf[18] === 2 && buf[19] === 2;
  } finally {
    closeSync(fd);
  }
}

function can(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

function userName(uid: number): string {
  const known = lookupName("/etc/passwd", uid);
  if (known) return known;
  try {
    const me = userInfo();
    if (me.uid === uid && me.username && me.username !== "unknown") return me.username;
  } catch {
    // no passwd entry for this uid
  }
  return String(uid);
}

function groupName(gid: number): string {
  return lookupName("/etc/group", gid) ?? String(gid);
}

/** The name of `id` in a passwd/group file (name:x:id:...), or null. */
function lookupName(file: string, id: number): string | null {
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const f = line.split(":");
      if (f[2] === String(id)) return f[0] ?? null;
    }
  } catch {
    // not readable: numbers will do
  }
  return null;
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

/**
 * Given a database path, throws an OperationError with what to do when this
 * user cannot read its WAL files, or when reading it would create `-shm`/`-wal`
 * files that the database's owner could not open afterwards. Returns quietly in
 * every other case (root, the owner, not WAL mode, a readable `-shm`), leaving
 * other failures to the snapshot's own messages.
 */
export function assertWalAccess(path: string): void {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0) return; // root: SQLite gives new files the database's owner
  let db: ReturnType<typeof statSync>;
  try {
    db = statSync(path);
    if (!isWalMode(path)) return;
  } catch {
    return; // unreadable or gone: the snapshot says so
  }
  const dir = dirname(path);
  const name = basename(path);
  const user = userName(uid);
  const owner = userName(db.uid);
  const appGroup = groupName(db.gid);
  const asOwner = `or run sqlbak as ${owner}, the database's owner (install-schedule --user-name ${owner})`;
  const groupSetup =
    `chgrp ${appGroup} ${dir} && chmod g+rwxs ${dir} && chmod g+rw ${path}, with ${user} in group ${appGroup}` +
    ` (usermod -aG ${appGroup} ${user})`;
  for (const suffix of ["-shm", "-wal"]) {
    const file = `${path}${suffix}`;
    if (can(file, constants.F_OK) && !can(file, constants.R_OK))
      throw new OperationError(`${path} is in WAL mode and ${user} cannot read its ${name}${suffix}`, {
        hint: `make the database's files readable by a group of ${user}: ${groupSetup}; ${asOwner}; ${DOC}`,
      });
  }
  if (can(`${path}-shm`, constants.F_OK) || uid === db.uid) return;
  const dirStat = statSync(dir);
  if (!can(dir, constants.W_OK | constants.X_OK)) {
    throw new OperationError(
      `${path} is in WAL mode and no connection has it open, so SQLite must create ${name}-shm to read it, ` +
        `but ${user} cannot write its folder ${dir} (${userName(dirStat.uid)}:${groupName(dirStat.gid)}, ` +
        `mode ${octal(dirStat.mode)})`,
      { hint: `let a group of ${user} write the folder: ${groupSetup}; ${asOwner}; ${IMMUTABLE_NOTE}; ${DOC}` },
    );
  }
  // SQLite creates -shm and -wal with the database file's mode; their group is the folder's when
  // the folder is setgid, else this user's. The owner must still be able to read and write them.
  const newGid = dirStat.mode & 0o2000 ? dirStat.gid : process.getegid!();
  const mode = db.mode & 0o777;
  const ownerCanUse = (newGid === db.gid && (mode & 0o060) === 0o060) || (mode & 0o006) === 0o006;
  if (!ownerCanUse) {
    throw new OperationError(
      `${path} is in WAL mode and no connection has it open: reading it would create ${name}-shm and ` +
        `${name}-wal owned by ${user}:${groupName(newGid)} with mode ${octal(mode)}, and ${owner} could ` +
        "no longer open the database; nothing was read",
      { hint: `keep the app's group on new files and let it write them: ${groupSetup}; ${asOwner}; ${DOC}` },
    );
  }
}
