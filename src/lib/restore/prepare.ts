/**
 * The copy a restore renames into place, made beside the target (same folder,
 * so the rename is atomic): the stored file decompressed (a pages backup
 * reassembled) with its SHA-256 computed in the same pass and compared with
 * the one recorded at backup time, the proof of a restore (docs/restore.md);
 * SQLite looks at it again only when asked (`--check quick|full`) or when the
 * backup itself was never checked (`check = "none"`). Then the journal mode
 * the live database had, its mode and owner, and an fsync.
 */
import { Database } from "bun:sqlite";
import {
  chmodSync,
  chownSync,
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { type Manifest, type ProgressFn, storedPages, suggestCommand } from "../model/index.ts";
import { removeQuietly } from "../system/index.ts";
import {
  BackupDamagedError,
  checkStoredFile,
  decompressChecked,
  inspectImage,
  reassembleChecked,
} from "../verify/index.ts";
import type { RestoreCheck, RestorePlan } from "./plan.ts";

/**
 * `replaced`: the file restored over; `backup`: recorded at backup time;
 * `folder`: the target folder's owner and the umask (older backups record none).
 */
export interface RestoredPermissions {
  mode: number;
  uid: number;
  gid: number;
  from: "replaced" | "backup" | "folder";
}

/**
 * Temporaries of an earlier restore to `target` that died (restore runs hold the lock, so none is live): the copy
 * `.<name>.<hex>.tmp` and, for a pages backup, the image being reassembled into it (`..<name>.<hex>.tmp.<hex>.tmp`).
 */
export function removeStaleTemps(target: string): string[] {
  const temp = `\\.${basename(target).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.[0-9a-f]{8}\\.tmp`;
  const re = new RegExp(`^(${temp}|\\.${temp}\\.[0-9a-f]{8}\\.tmp)(-wal|-shm|-journal)?$`);
  const stale = readdirSync(dirname(target))
    .filter((n) => re.test(n))
    .map((n) => join(dirname(target), n));
  for (const p of stale) removeQuietly(p);
  return stale;
}

/**
 * Verifies the backup at `check` and leaves a ready-to-rename, fsynced copy at
 * `temp`; throws BackupDamagedError (the target untouched) when the copy is
 * not byte for byte the recorded image or fails the SQLite check asked for.
 * `onProgress` hears the decompression or reassembly.
 */
export async function prepareCopy(
  plan: RestorePlan,
  temp: string,
  check: RestoreCheck,
  onProgress?: ProgressFn,
): Promise<RestoredPermissions> {
  const m0 = plan.backup.manifest;
  const pass = (what: string) =>
    onProgress &&
    ((done: number, total: number) => onProgress(`${m0.database}: restoring ${m0.id} (${what})`, done, total));
  // Only the decompressed image is hashed: its SHA-256 equal to the recorded one proves every byte, whatever
  // the stored file holds. When that fails, the stored file is hashed on its own, to say precisely what is wrong.
  // A pages backup is reassembled from its map and packs instead, each checked against its recorded SHA-256
  // as it is read, which names a damaged pack, and the image against the recorded raw SHA-256.
  let { manifest, problems } = await checkStoredFile(plan.backup, { hash: false, keys: plan.keys });
  if (manifest && problems.length === 0 && storedPages(manifest)) {
    problems.push(...(await reassembleChecked(plan.backup, manifest, temp, plan.keys, [], pass("reassembling"))));
  } else if (manifest && problems.length === 0) {
    problems.push(
      ...(await decompressChecked(plan.backup, manifest, temp, plan.keys, pass("decompressing"), {
        hashStored: false,
      })),
    );
    if (problems.length > 0) {
      const hashed = await checkStoredFile(plan.backup);
      if (hashed.problems.length > 0) ({ manifest, problems } = hashed);
    }
  }
  if (problems.length === 0 && check !== "checksum") problems.push(...inspectImage(temp, manifest!, check, []));
  const id = plan.backup.manifest.id;
  if (problems.length > 0)
    throw new BackupDamagedError(`refusing to restore ${id}: ${problems.join("; ")}`, problems, damagedHint(plan));
  // VACUUM INTO images are in rollback mode; give the copy the journal mode the live database had.
  if (manifest!.snapshot.journal_mode === "wal") markWal(temp);
  const permissions = applyPermissions(plan, manifest!, temp);
  const fd = openSync(temp, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return permissions;
}

const SQLITE_MAGIC = "SQLite format 3\0";

/**
 * Puts the image in WAL mode as `PRAGMA journal_mode = WAL` does, without
 * opening SQLite: WAL mode is the file format read and write versions (header
 * bytes 19 and 18) being 2 instead of 1 (docs/restore.md). Anything else in
 * those bytes is left to SQLite itself.
 */
function markWal(path: string): void {
  const fd = openSync(path, "r+");
  try {
    const header = new Uint8Array(20);
    readSync(fd, header, 0, header.length, 0);
    const magic = new TextDecoder().decode(header.subarray(0, 16));
    if (magic === SQLITE_MAGIC && header[18] === 2 && header[19] === 2) return;
    if (magic === SQLITE_MAGIC && header[18] === 1 && header[19] === 1) {
      writeSync(fd, Uint8Array.of(2, 2), 0, 2, 18);
      return;
    }
  } finally {
    closeSync(fd);
  }
  const db = new Database(path, { readwrite: true });
  try {
    db.run("PRAGMA journal_mode = WAL");
  } finally {
    db.close();
  }
}

/** Commands that read the backup this restore read: same config, backup folder, destination (and key, for verify). */
function damagedHint(plan: RestorePlan): string {
  const carry = plan.carry ?? [];
  const from = plan.from !== undefined ? ["--from", plan.from] : [];
  const verify = suggestCommand(["verify", plan.backup.manifest.id, ...carry, ...from]);
  const list = suggestCommand([
    "list",
    plan.database,
    ...carry.filter((w, i) => w !== "--identity" && carry[i - 1] !== "--identity"),
    ...from,
  ]);
  return `nothing was changed; check it with \`${verify}\` and pick another backup (\`${list}\`)`;
}

/**
 * Gives the copy the mode and owner the application expects: those of the file
 * it replaces; for a new path, those recorded at backup time; for an older
 * backup without them, the folder's owner and the umask. See docs/restore.md.
 */
function applyPermissions(plan: RestorePlan, manifest: Manifest, temp: string): RestoredPermissions {
  let want: RestoredPermissions;
  if (plan.targetExists) {
    const st = statSync(plan.target);
    want = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, from: "replaced" };
  } else if (manifest.source_stat) {
    want = { ...manifest.source_stat, from: "backup" };
  } else {
    const st = statSync(dirname(plan.target));
    const umask = process.umask();
    want = { mode: 0o666 & ~umask, uid: st.uid, gid: st.gid, from: "folder" };
  }
  chmodSync(temp, want.mode);
  try {
    chownSync(temp, want.uid, want.gid);
  } catch {
    // not root: the copy stays ours, as the file we replace most likely was
    const st = statSync(temp);
    want = { ...want, uid: st.uid, gid: st.gid };
  }
  return want;
}
