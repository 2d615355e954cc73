/**
 * Worker thread of verify: the SHA-256 and size of a file (a decompressed or
 * reassembled image, while SQLite checks it: hash-beside.ts), read from the
 * start in 4 MiB pieces into one reused buffer. Requests are answered in order.
 *   main → {path}  ← {type:"digest", size, sha256} or {type:"error", message}
 * Listed as an entry point of the compiled binary (package.json build).
 */
import { closeSync, openSync, readSync } from "node:fs";

export type HashRequest = { path: string };
export type HashMessage = { type: "digest"; size: number; sha256: string } | { type: "error"; message: string };

const READ_BYTES = 4 * 1024 * 1024;

declare const self: Worker;

self.onmessage = (event: MessageEvent<HashRequest>) => {
  let answer: HashMessage;
  try {
    const fd = openSync(event.data.path, "r");
    try {
      const hash = new Bun.CryptoHasher("sha256");
      const buf = new Uint8Array(READ_BYTES);
      let size = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, READ_BYTES, size);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        size += n;
      }
      answer = { type: "digest", size, sha256: hash.digest("hex") };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    answer = { type: "error", message: `${event.data.path}: ${err instanceof Error ? err.message : String(err)}` };
  }
  self.postMessage(answer);
};
