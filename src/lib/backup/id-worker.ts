/**
 * Worker thread of a pages backup: computes the snapshot's raw SHA-256, and
 * the page ids of the last pages of each chunk, while the main thread makes
 * the ids of the others and looks them all up (id-hasher.ts). On two cores
 * the hashes of every byte (raw SHA-256 and keyed page id) then run side by
 * side instead of one after the other. Chunks come in order, in buffers shared
 * with the main thread (no copy); each is answered once hashed, so the main
 * thread may reuse its buffer.
 *   main → {type:"update", chunk, pageSize, idsFrom, hash}  ← {type:"ids", ids} (when idsFrom < pages), then {type:"updated"}
 *   main → {type:"digest"}                                  ← {type:"digest", hex}
 * `ids`: 16 bytes each, for pages idsFrom … of the chunk (0-based), made with
 * the id key given in workerData. `hash: false` leaves the chunk out of the
 * raw SHA-256 (it is hashed later, or never: see consume.ts). Any failure:
 * ← {type:"error", message}.
 * Listed as an entry point of the compiled binary (package.json build).
 */
import { workerData } from "node:worker_threads";
import { PAGE_ID_BYTES, pageId } from "../pages/index.ts";

export type IdRequest =
  | { type: "update"; chunk: Uint8Array; pageSize: number; idsFrom: number; hash: boolean }
  | { type: "digest" };
export type IdMessage =
  | { type: "ids"; ids: Uint8Array }
  | { type: "updated" }
  | { type: "digest"; hex: string }
  | { type: "error"; message: string };

declare const self: Worker;
const post = (m: IdMessage, transfer: ArrayBuffer[] = []) => self.postMessage(m, transfer);

const idKey = new Uint8Array((workerData as { idKey: Uint8Array }).idKey);
let hash = new Bun.CryptoHasher("sha256");

self.onmessage = (event: MessageEvent<IdRequest>) => {
  const req = event.data;
  try {
    if (req.type === "update") {
      const { chunk, pageSize, idsFrom } = req;
      // The ids first: the main thread waits for them, not for the hash.
      const n = chunk.length / pageSize;
      if (idsFrom < n) {
        const ids = new Uint8Array((n - idsFrom) * PAGE_ID_BYTES);
        for (let i = idsFrom; i < n; i++)
          ids.set(pageId(idKey, chunk.subarray(i * pageSize, (i + 1) * pageSize)), (i - idsFrom) * PAGE_ID_BYTES);
        post({ type: "ids", ids }, [ids.buffer]);
      }
      if (req.hash) hash.update(chunk);
      post({ type: "updated" });
    } else {
      post({ type: "digest", hex: hash.digest("hex") });
      hash = new Bun.CryptoHasher("sha256");
    }
  } catch (err) {
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
