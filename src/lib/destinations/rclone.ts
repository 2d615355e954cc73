/**
 * An rclone remote as a destination (Google Drive, Dropbox, OneDrive, B2,
 * WebDAV, … — whatever `rclone config` set up): every operation runs the
 * `rclone` binary once, with the remote named in the config; credentials stay
 * in rclone's own config file and never appear in process arguments.
 *
 * Uploads go to a hidden `.<name>.<8 hex>.tmp` beside the final name
 * (`copyto`), then `moveto` gives them their name: a server-side rename where
 * the remote has one (local, sftp, WebDAV, Drive, Dropbox, OneDrive), and on
 * object stores an object only appears once complete. So a cut-off upload
 * never shows under its key; hidden names are never listed. Downloads stream
 * `rclone cat` into a local temporary file, fsynced and renamed into place.
 * The listing is `lsjson --recursive --files-only`, without hashes (on some
 * remotes each costs a read of the file), and with modification times only
 * where the remote keeps them and lists them at no extra cost (`rclone
 * backend features`, asked once per run: a known precision, no SlowModTime).
 * A file's ModTime, once settled (store/settle.ts), is the validator that
 * lets a run skip a manifest it read before (docs/folder-listing.md).
 */

import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync } from "node:fs";
import { resolve } from "node:path";
import type { RcloneDestination } from "../config/index.ts";
import { OperationError } from "../model/index.ts";
import { assertKey, type Backend, type RemoteFile, settledStamp } from "../store/index.ts";
import { commitRename, FILE_MODE, removeQuietly, tempPathFor } from "../system/index.ts";

/** rclone's exit code for "directory not found" (also what `cat` and `lsjson --stat` give for a missing file). */
const RCLONE_NOT_FOUND = 3;
/**
 * Global flags of every call: never prompt for a config password (scheduled
 * runs have no terminal; $RCLONE_CONFIG_PASS unlocks an encrypted config), log
 * errors only (so stderr's last line is the reason), and no whole-command
 * retries (the next sqlbak run catches up); rclone's low-level retries stay.
 */
const BASE_FLAGS = ["--ask-password=false", "-q", "--retries", "1"];
/** Files and folders rclone creates on a local or SFTP-like remote are private, as backup_dir's are. */
const PRIVATE_UMASK_SH = 'umask 077 && exec "$0" "$@"';
/** rclone's Precision for a remote that keeps no modification times (100 years, in ns). */
const MODTIME_NOT_SUPPORTED_NS = 100 * 365 * 24 * 3600 * 1e9;
/** What `backend features` said of each remote this run (by binary, config and remote): asked once per run. */
const TIME_WIDTHS = new Map<string, Promise<number | null>>();

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** rclone's reason: the last line of its stderr, without the log timestamp. */
function reason(r: Ran): string {
  const line = r.stderr.trim().split("\n").at(-1) ?? "";
  const text = line.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (ERROR : |NOTICE: )?/, "").trim();
  return text || `rclone exited with code ${r.code}`;
}

/** A Backend over `rclone`. Nothing runs until the first operation. */
export function createRcloneBackend(d: RcloneDestination): Backend {
  const root = /:$/.test(d.remote) ? d.remote : d.remote.replace(/\/+$/, "");
  const describe = `rclone:${root}`;
  const fail = (what: string, hint?: string) =>
    new OperationError(`rclone destination "${d.name}" (${describe}): ${what}`, hint ? { hint } : {});
  const at = (key: string) => {
    assertKey(key);
    return root.endsWith(":") || root.endsWith("/") ? `${root}${key}` : `${root}/${key}`;
  };
  const config = d.rcloneConfig ? ["--config", d.rcloneConfig] : [];

  async function run(args: string[], stdout: "pipe" | number = "pipe"): Promise<Ran> {
    if (d.rcloneConfig && !existsSync(d.rcloneConfig))
      throw fail(`rclone_config file ${d.rcloneConfig} does not exist`);
    let proc: ReturnType<typeof Bun.spawn>;
    try {
      proc = Bun.spawn(["/bin/sh", "-c", PRIVATE_UMASK_SH, d.rclone, ...BASE_FLAGS, ...config, ...args], {
        stdin: "ignore",
        stdout,
        stderr: "pipe",
      });
    } catch (err) {
      throw fail(`cannot run ${d.rclone}: ${(err as Error).message}`);
    }
    const [out, err, code] = await Promise.all([
      typeof proc.stdout === "object" && proc.stdout ? new Response(proc.stdout).text() : Promise.resolve(""),
      new Response(proc.stderr as ReadableStream).text(),
      proc.exited,
    ]);
    // The shell's own "not found" (127) or "cannot execute" (126): rclone is not installed where configured.
    if (code === 127 || code === 126)
      throw fail(
        `rclone not found or not executable (rclone = "${d.rclone}")`,
        'install it (Debian: apt-get install rclone) or set rclone = "/path/to/rclone"',
      );
    return { code, stdout: out, stderr: err };
  }
  const check = (r: Ran, what: string) => {
    if (r.code !== 0) throw fail(`${what}: ${reason(r)}`);
    return r;
  };

  /** `cat key` into `localPath` (streamed, fsynced, renamed into place); "missing" when the key does not exist. */
  async function download(key: string, localPath: string): Promise<"ok" | "missing"> {
    const temp = tempPathFor(localPath);
    const fd = openSync(temp, "wx", FILE_MODE);
    let r: Ran;
    try {
      r = await run(["cat", "--", at(key)], fd);
      if (r.code === 0) fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      removeQuietly(temp);
      throw err;
    }
    closeSync(fd);
    if (r.code !== 0) {
      removeQuietly(temp);
      if (r.code === RCLONE_NOT_FOUND) return "missing";
      throw fail(`download of ${key} failed: ${reason(r)}`);
    }
    commitRename(temp, localPath);
    return "ok";
  }

  /**
   * The bucket a listed ModTime stands for (its precision, at least a second),
   * or null when the remote has no usable times: asked once per run (`backend features`).
   */
  const widthKey = [d.rclone, d.rcloneConfig ?? "", root].join("\0");
  const modTimeWidth = () => {
    let timeWidth = TIME_WIDTHS.get(widthKey);
    if (timeWidth) return timeWidth;
    timeWidth = run(["backend", "features", "--", root]).then(
      (r) => {
        if (r.code !== 0) return null;
        try {
          const f = JSON.parse(r.stdout) as { Precision?: number; Features?: { SlowModTime?: boolean } };
          const ns = f.Precision;
          if (
            typeof ns !== "number" ||
            !(ns > 0) ||
            ns >= MODTIME_NOT_SUPPORTED_NS ||
            f.Features?.SlowModTime !== false
          )
            return null;
          return Math.max(1000, Math.ceil(ns / 1e6));
        } catch {
          return null;
        }
      },
      () => null,
    );
    TIME_WIDTHS.set(widthKey, timeWidth);
    return timeWidth;
  };

  return {
    describe,
    checkSizes: true,

    async put(localPath, key) {
      const final = at(key);
      const slash = final.lastIndexOf("/");
      const cut = slash >= 0 ? slash + 1 : final.indexOf(":") + 1;
      const partial = `${final.slice(0, cut)}.${final.slice(cut)}.${randomBytes(4).toString("hex")}.tmp`;
      // Absolute, so rclone never reads a local `a:b` as a remote.
      check(await run(["copyto", "--", resolve(localPath), partial]), `upload of ${key} failed`);
      const moved = await run(["moveto", "--", partial, final]);
      if (moved.code !== 0) {
        await run(["deletefile", "--low-level-retries", "1", "--", partial]).catch(() => undefined);
        throw fail(`upload of ${key} failed: ${reason(moved)}`);
      }
    },

    async get(key, localPath) {
      if ((await download(key, localPath)) === "missing") throw fail(`${key} does not exist`);
    },

    async readText(key) {
      const r = await run(["cat", "--", at(key)]);
      if (r.code === RCLONE_NOT_FOUND) return null;
      return check(r, `cannot read ${key}`).stdout;
    },

    async stat(key): Promise<RemoteFile | null> {
      const r = await run(["lsjson", "--stat", "--no-modtime", "--no-mimetype", "--", at(key)]);
      if (r.code === RCLONE_NOT_FOUND) return null;
      const e = JSON.parse(check(r, `cannot stat ${key}`).stdout) as { Size: number; IsDir: boolean };
      return e.IsDir ? null : { key, size: e.Size };
    },

    async list(prefix) {
      // Listed from the root with a filter (not from `root/<database>`), so a file named like a database
      // folder is never taken for one; keys are then relative to the root. Database names need no escaping.
      const dir = prefix.slice(0, prefix.lastIndexOf("/") + 1);
      if (dir && !/^[A-Za-z0-9_./-]+$/.test(dir)) throw fail(`invalid listing prefix ${JSON.stringify(prefix)}`);
      const filter = dir ? ["--include", `/${dir}**`] : [];
      const width = await modTimeWidth();
      const nowMs = Date.now();
      const r = await run([
        "lsjson",
        "--recursive",
        "--files-only",
        ...(width === null ? ["--no-modtime"] : []),
        "--no-mimetype",
        ...filter,
        "--",
        root,
      ]);
      if (r.code === RCLONE_NOT_FOUND) return [];
      const entries = JSON.parse(check(r, `cannot list ${prefix || "the destination"}`).stdout) as {
        Path: string;
        Name: string;
        Size: number;
        ModTime?: string;
      }[];
      return entries
        .filter((e) => !e.Name.startsWith(".") && e.Path.startsWith(prefix))
        .map((e) => {
          const stamp =
            width !== null && e.ModTime
              ? settledStamp("rclone", e.ModTime, Date.parse(e.ModTime), width, nowMs)
              : undefined;
          return { key: e.Path, size: e.Size, ...(stamp ? { stamp } : {}) };
        });
    },

    async remove(key) {
      const path = at(key);
      const r = await run(["deletefile", "--", path]);
      // rclone says the same for a key already gone; a folder under that name is not ours to remove either.
      if (r.code === 0 || /is a directory or doesn't exist$/.test(reason(r))) return;
      throw fail(`cannot remove ${key}: ${reason(r)}`);
    },

    async close() {
      // Every operation was its own rclone process, already gone.
    },
  };
}
