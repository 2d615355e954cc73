/**
 * Worker thread that computes a snapshot's raw SHA-256 while the main thread
 * does the per-page work (an incremental backup's keyed page ids): on two cores
 * the two hashes of every byte run side by side instead of one after the other.
 * Chunks come in order, in buffers shared with the main thread (no copy); each
 * is acknowledged once hashed, so the main thread may reuse its buffer.
 *   main → {type:"update", chunk}   ← {type:"updated"}
 *   main → {type:"digest"}          ← {type:"digest", hex}
 * Any failure: ← {type:"error", message}.
 * Listed as an entry point of the compiled binary (package.json build).
 */
export type HashRequest = { type: "update"; chunk: Uint8Array } | { type: "digest" };
export type HashMessage = { type: "updated" } | { type: "digest"; hex: string } | { type: "error"; message: string };

declare const self: Worker;
const post = (m: HashMessage) => self.postMessage(m);

let hash = new Bun.CryptoHasher("sha256");

self.onmessage = (event: MessageEvent<HashRequest>) => {
  const req = event.data;
  try {
    if (req.type === "update") {
      hash.update(req.chunk);
      post({ type: "updated" });
    } else {
      post({ type: "digest", hex: hash.digest("hex") });
      hash = new Bun.CryptoHasher("sha256");
    }
  } catch (err) {
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
