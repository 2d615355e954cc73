/**
 * SFTP destination: drives OpenSSH's `sftp` client in batch mode, one
 * session (one SSH connection) for all of a backend's operations, opened at
 * the first and ended by close() (sftp-session.ts; the user's ssh setup
 * applies unchanged). Every command is `-`-prefixed, so a missing file does not end the
 * session; what it complained about decides. Uploads go to a hidden `.name.tmp`
 * beside the final name, are fsynced on the server (where it supports
 * fsync@openssh.com) and then renamed into place, so an interrupted upload
 * never appears under its key; a later upload of the same key overwrites
 * the leftover. `ls` hides the dot-names, so `list` never returns them.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { type Backend, type RemoteFile, settledStamp } from "../store/index.ts";
import { commitRename, removeQuietly, TEMP_SUFFIX, tempPathFor } from "../system/index.ts";
import {
  type BatchResult,
  describeFailure,
  isNotFound,
  lastComplaint,
  parseLs,
  quoteArg,
  type SftpTarget,
  splitSections,
} from "./sftp-batch.ts";
import { SftpSession } from "./sftp-session.ts";

export interface SftpEntry {
  name: string;
  host: string;
  port?: number;
  user: string;
  key_file?: string;
  /** Remote folder: absolute, or relative to the login folder (`~/x` means the same). */
  path: string;
  /** A known_hosts file to check the server key against (strictly); default: ssh's own. */
  known_hosts?: string;
}

export const DEFAULT_SFTP_PORT = 22;
/** Manifests read in one batch by readTexts (one line each; a batch stays a modest stdin write). */
const READ_BATCH = 200;
/** Keys are `<database>/<file>`; deeper trees are listed too, but never beyond this depth. */
const MAX_LIST_DEPTH = 8;

function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

/** `/srv/backups/`, `~/backups`, `backups//x` → `/srv/backups`, `backups`, `backups/x`. */
function normalizeRoot(path: string): string {
  let p = path.trim().replace(/\/{2,}/g, "/");
  if (p === "~" || p === "~/") return ".";
  if (p.startsWith("~/")) p = p.slice(2);
  if (p.length > 1) p = p.replace(/\/+$/, "");
  return p || ".";
}

const CONTROL = /[\x00-\x1f\x7f]/;

/** Keys that would leave the destination folder, or that a batch line cannot carry. */
function isBadKey(key: string): boolean {
  if (!key || key.startsWith("/") || CONTROL.test(key)) return true;
  return key.split("/").some((p) => p === "" || p === "." || p === "..");
}

/** An SFTP Backend; `connections()` counts the SSH connections its session started (tests, bench). */
export type SftpBackend = Backend & { connections(): number };

/**
 * A Backend on an SFTP server. Nothing connects until the first operation;
 * every failure throws an Error with one line naming the destination and the
 * cause (authentication, host key, refused connection, missing file, ...).
 */
export function createSftpBackend(entry: SftpEntry): SftpBackend {
  const port = entry.port ?? DEFAULT_SFTP_PORT;
  const host = entry.host.replace(/^\[(.*)\]$/, "$1");
  const root = normalizeRoot(entry.path);
  const home = root.startsWith("/") ? "" : "/~/";
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const describe = `sftp://${entry.user}@${hostPart}:${port}${home}${root === "." ? "" : root}`;
  const label = `sftp destination "${entry.name}" (${describe})`;
  const fail = (what: string) => new Error(`${label}: ${what}`);
  if (!host || /^-|\s/.test(host) || CONTROL.test(host)) throw fail(`invalid host ${JSON.stringify(entry.host)}`);
  if (!entry.user || /^-|[\s@]/.test(entry.user) || CONTROL.test(entry.user))
    throw fail(`invalid user ${JSON.stringify(entry.user)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw fail(`invalid port ${port}`);
  if (CONTROL.test(root)) throw fail("the path contains a control character");
  const target: SftpTarget = {
    host,
    port,
    user: entry.user,
    keyFile: entry.key_file ? expandHome(entry.key_file) : undefined,
    knownHosts: entry.known_hosts ? expandHome(entry.known_hosts) : undefined,
  };
  const checkKey = (key: string) => {
    if (isBadKey(key)) throw fail(`invalid destination key ${JSON.stringify(key)}`);
  };
  const remote = (key: string) => {
    checkKey(key);
    return root === "." ? key : `${root}/${key}`;
  };

  const session = new SftpSession(target);
  /** Runs a batch after checking the local files ssh needs; the result may still be a failure. */
  async function run(lines: string[]): Promise<BatchResult> {
    if (target.keyFile && !existsSync(target.keyFile)) throw fail(`key file ${target.keyFile} does not exist`);
    if (target.knownHosts && !existsSync(target.knownHosts))
      throw fail(`known_hosts file ${target.knownHosts} does not exist`);
    try {
      return await session.run(lines);
    } catch (err) {
      throw fail((err as Error).message);
    }
  }
  const failed = (what: string, result: BatchResult) => fail(`${what}: ${describeFailure(result, target)}`);
  /** "ok", "missing" (what sftp said was not there), or "failed" (the connection, or any other complaint). */
  const outcome = (r: BatchResult): "ok" | "missing" | "failed" => {
    if (r.code !== 0) return "failed";
    const complaint = lastComplaint(r);
    return complaint === undefined ? "ok" : isNotFound(complaint) ? "missing" : "failed";
  };

  /** `mkdir -p` for the folder of `path`: each level, ignoring "already exists". */
  function mkdirs(path: string): string[] {
    const parts = path.split("/").slice(0, -1);
    const lines: string[] = [];
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (dir && dir !== ".") lines.push(`-mkdir ${quoteArg(dir)}`);
    }
    return lines;
  }

  /** The absolute local path (the session's sftp keeps the folder it started in). */
  const checkLocal = (path: string) => {
    if (CONTROL.test(path)) throw fail(`local path ${JSON.stringify(path)} contains a control character`);
    return resolve(path);
  };

  /** Downloads to `path`; a partial file is removed. `-f` has sftp fsync it (a file that must survive a crash). */
  async function fetchTo(key: string, path: string, fsync: boolean): Promise<"ok" | "missing"> {
    const result = await run([`-get${fsync ? " -f" : ""} ${quoteArg(remote(key))} ${quoteArg(path)}`]);
    const got = outcome(result);
    if (got === "ok") return "ok";
    removeQuietly(path);
    if (got === "missing") return "missing";
    throw failed(`download of ${key} failed`, result);
  }

  /** A manifest, read and dropped at once: no fsync, in the session's private folder. */
  async function readText(key: string): Promise<string | null> {
    const scratch = session.scratchPath();
    try {
      return (await fetchTo(key, scratch, false)) === "missing" ? null : readFileSync(scratch, "utf8");
    } finally {
      removeQuietly(scratch);
    }
  }

  return {
    describe,

    async put(localPath, key) {
      const final = remote(key);
      const local = checkLocal(localPath);
      try {
        if (!statSync(local).isFile()) throw new Error("not a regular file");
      } catch (err) {
        throw fail(
          `cannot upload ${localPath}: ` +
            `${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
        );
      }
      const slash = final.lastIndexOf("/");
      const partial = `${final.slice(0, slash + 1)}.${final.slice(slash + 1)}${TEMP_SUFFIX}`;
      // Two batches: the rename runs only once the upload is known to be complete.
      const sent = await run([...mkdirs(final), `-put -f ${quoteArg(local)} ${quoteArg(partial)}`]);
      if (outcome(sent) !== "ok") throw failed(`upload of ${key} failed`, sent);
      // posix-rename@openssh.com (used by OpenSSH's client when offered) replaces an existing key atomically.
      const renamed = await run([`-rename ${quoteArg(partial)} ${quoteArg(final)}`]);
      if (outcome(renamed) !== "ok") throw failed(`upload of ${key} failed`, renamed);
    },

    async get(key, localPath) {
      const local = checkLocal(localPath);
      const temp = tempPathFor(local);
      if ((await fetchTo(key, temp, true)) === "missing") throw fail(`${key} does not exist`);
      commitRename(temp, local);
    },

    checkSizes: true,
    readText,

    /**
     * One batch of `get`s per READ_BATCH keys, into scratch files: a round of
     * the session instead of one per manifest. A batch that complained about
     * anything (a file gone since the listing, a read error) or lost its
     * connection is read again key by key, so each key gets its own outcome
     * and no half-fetched file is ever taken for a text.
     */
    async readTexts(keys) {
      const out: (string | null | Error)[] = [];
      const one = (key: string) => readText(key).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
      for (let at = 0; at < keys.length; at += READ_BATCH) {
        const chunk = keys.slice(at, at + READ_BATCH);
        const scratch = chunk.map(() => session.scratchPath());
        try {
          const result = await run(chunk.map((k, i) => `-get ${quoteArg(remote(k))} ${quoteArg(scratch[i]!)}`));
          const clean = outcome(result) === "ok";
          for (const [i, key] of chunk.entries()) {
            let text: string | undefined;
            if (clean) {
              try {
                text = readFileSync(scratch[i]!, "utf8");
              } catch {} // not there after all: asked alone below
            }
            out.push(text ?? (await one(key)));
          }
        } finally {
          for (const path of scratch) removeQuietly(path);
        }
      }
      return out;
    },

    async stat(key): Promise<RemoteFile | null> {
      const path = remote(key);
      const result = await run([`-ls -n ${quoteArg(path)}`]);
      const seen = outcome(result);
      if (seen === "missing") return null;
      if (seen === "failed") throw failed(`cannot stat ${key}`, result);
      const entry = parseLs(splitSections(result.stdout)[0] ?? []).find((e) => e.path === path);
      return entry?.isFile ? { key, size: entry.size } : null;
    },

    async list(prefix) {
      const slash = prefix.lastIndexOf("/");
      const start = prefix.slice(0, slash + 1).replace(/\/$/, "");
      if (start) checkKey(start);
      const files: RemoteFile[] = [];
      const nowMs = Date.now();
      let level = [start];
      for (let depth = 0; level.length && depth < MAX_LIST_DEPTH; depth++) {
        const dirs = level.map((d) => (d ? remote(d) : root));
        // `-` keeps the batch going past a folder that does not exist; other errors are checked below.
        const result = await run(dirs.map((d) => `-ls -n ${quoteArg(d)}`));
        // sftp's own complaints start with Can't/Couldn't (a login banner on stderr does not).
        const problem = result.stderr.split("\n").find((l) => /^(Can't|Couldn't) /.test(l) && !isNotFound(l));
        if (result.code !== 0 || problem) throw failed(`cannot list ${prefix || "the destination"}`, result);
        const sections = splitSections(result.stdout);
        const next: string[] = [];
        level.forEach((dirKey, i) => {
          for (const e of parseLs(sections[i] ?? [], nowMs)) {
            if (!e.path.startsWith(`${dirs[i]}/`)) continue; // `ls` of a file prints the file itself
            const key = `${dirKey ? `${dirKey}/` : ""}${e.path.slice(dirs[i]!.length + 1)}`;
            if (e.isFile && key.startsWith(prefix)) {
              // The listed minute (or day) stands for the content once it is over (store/settle.ts).
              const stamp = e.time && settledStamp("sftp", e.time.text, e.time.startMs, e.time.widthMs, nowMs);
              files.push({ key, size: e.size, ...(stamp ? { stamp } : {}) });
            } else if (e.isDir && (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`))) next.push(key);
          }
        });
        level = next;
      }
      return files;
    },

    async remove(key) {
      const result = await run([`-rm ${quoteArg(remote(key))}`]);
      if (outcome(result) === "failed") throw failed(`cannot remove ${key}`, result);
    },

    async close() {
      await session.close();
    },

    connections: () => session.connections,
  };
}
