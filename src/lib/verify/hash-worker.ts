/**
 * Worker thread of verify and restore: the SHA-256 and size of a file. Either
 * a whole finished file (a decompressed or reassembled image, while SQLite
 * checks it: hash-beside.ts), read from the page cache in 4 MiB pieces into
 * one reused buffer; or a file being written (restore's decompression), whose
 * frames the main thread hands over once written, in order: each is hashed
 * and acknowledged; bytes written but not handed over are read back at the end.
 *   main → {path}                        ← {type:"digest", size, sha256} or {type:"error", message}
 *   main → {follow: path}, {frame, upTo: n}… (each ← {type:"hashed"}), {upTo: n, last: true}  ← as {path}
 * Listed as an entry point of the compiled binary (package.json build).
 */
import { closeSync, openSync, readSync } from "node:fs";

export type HashRequest =
  | { path: string }
  | { follow: string }
  | { upTo: number; last?: boolean }
  | { frame: Uint8Array; upTo: number };
export type HashMessage =
  | { type: "digest"; size: number; sha256: string }
  | { type: "error"; message: string }
  | { type: "hashed"; upTo: number };

const READ_BYTES = 4 * 1024 * 1024;

declare const self: Worker;

const buf = new Uint8Array(READ_BYTES);

/** Hashes `fd` from `from` up to `to` (to the end of the file when null); returns where it stopped. */
function hashRange(fd: number, hash: Bun.CryptoHasher, from: number, to: number | null): number {
  let pos = from;
  while (to === null || pos < to) {
    const want = to === null ? READ_BYTES : Math.min(READ_BYTES, to - pos);
    const n = readSync(fd, buf, 0, want, pos);
    if (n === 0) {
      if (to === null) break;
      throw new Error(`ends at ${pos} bytes, ${to} were written`);
    }
    hash.update(buf.subarray(0, n));
    pos += n;
  }
  return pos;
}

/** The file being followed: its descriptor (once opened), hash so far and how far it is hashed; an error ends it. */
let followed: { path: string; fd: number; hash: Bun.CryptoHasher; done: number; error: string | null } | null = null;

const describe = (path: string, err: unknown) => `${path}: ${err instanceof Error ? err.message : String(err)}`;

self.onmessage = (event: MessageEvent<HashRequest>) => {
  const req = event.data;
  if ("follow" in req) {
    followed = { path: req.follow, fd: -1, hash: new Bun.CryptoHasher("sha256"), done: 0, error: null };
    return;
  }
  if ("frame" in req) {
    // Always acknowledged, so the main thread never waits on a frame; one out of order is read back at the end.
    const f = followed;
    if (f && f.error === null && f.done + req.frame.length === req.upTo) {
      f.hash.update(req.frame);
      f.done = req.upTo;
    }
    self.postMessage({ type: "hashed", upTo: req.upTo } satisfies HashMessage);
    return;
  }
  if ("upTo" in req) {
    const f = followed;
    if (!f) return;
    if (f.error === null && f.done < req.upTo) {
      try {
        // Opened only when something was not handed over: the file is then read where the frames left off.
        if (f.fd < 0) f.fd = openSync(f.path, "r");
        f.done = hashRange(f.fd, f.hash, f.done, req.upTo);
      } catch (err) {
        f.error = describe(f.path, err);
      }
    }
    if (!req.last) return;
    if (f.fd >= 0) closeSync(f.fd);
    followed = null;
    self.postMessage(
      f.error === null
        ? ({ type: "digest", size: f.done, sha256: f.hash.digest("hex") } satisfies HashMessage)
        : ({ type: "error", message: f.error } satisfies HashMessage),
    );
    return;
  }
  let answer: HashMessage;
  try {
    const fd = openSync(req.path, "r");
    try {
      const hash = new Bun.CryptoHasher("sha256");
      const size = hashRange(fd, hash, 0, null);
      answer = { type: "digest", size, sha256: hash.digest("hex") };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    answer = { type: "error", message: describe(req.path, err) };
  }
  self.postMessage(answer);
};
