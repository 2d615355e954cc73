/**
 * What s3rver (written for Node) gets wrong, fixed around it; imported by s3.ts. First a PUT:
 * - its file store answers a PUT once it has read the body, while the object's file is still
 *   being written: a HEAD right after it (the size check after every upload) could see 0 bytes,
 *   more often the faster the client. A PUT now returns once the file has its full size.
 * Then two under Bun only, both in a listing of more than 1,000 keys, the page size (a
 * truncated listing):
 * - its continuation token is made with DES, which Bun's crypto does not have (every truncated
 *   listing was an InternalError). The token only has to round-trip inside s3rver, so DES
 *   (8-byte key and IV) is served by AES-128-CBC with both padded;
 * - its folder walk relies on readdirSync returning names sorted, as Node's does (libuv sorts)
 *   and Bun's does not; a later page then started at the wrong key and skipped or repeated
 *   keys. Its listing runs with readdirSync sorting.
 */
import crypto from "node:crypto";
import { createRequire } from "node:module";

const c = crypto as unknown as Record<string, (...args: unknown[]) => unknown>;
const pad = (b: unknown) => Buffer.concat([Buffer.from(b as Uint8Array), Buffer.alloc(16)]).subarray(0, 16);
for (const fn of ["createCipheriv", "createDecipheriv"]) {
  const real = c[fn]!.bind(crypto);
  c[fn] = (alg: unknown, key: unknown, iv: unknown, ...rest: unknown[]) =>
    alg === "des" ? real("aes-128-cbc", pad(key), pad(iv), ...rest) : real(alg, key, iv, ...rest);
}

const require = createRequire(import.meta.url);
// The `fs` s3rver's walk calls: fs-extra's, as s3rver itself resolves it.
const fs = createRequire(require.resolve("s3rver/lib/utils.js"))("fs-extra") as typeof import("node:fs");
// s3rver's store walks the folders synchronously, before its first await: names come sorted for that walk only.
const store = require("s3rver/lib/stores/filesystem.js") as {
  prototype: {
    listObjects: (...args: unknown[]) => Promise<unknown>;
    putObject: (object: { bucket: string; key: string }) => Promise<{ size: number }>;
    getResourcePath: (bucket: string, key: string, what: string) => string;
  };
};
const putObject = store.prototype.putObject;
store.prototype.putObject = async function (this: typeof store.prototype, object) {
  const r = await putObject.call(this, object);
  const path = this.getResourcePath(object.bucket, object.key, "object");
  // The write stream opens its file asynchronously too: not there yet is 0 bytes so far.
  const written = () => fs.statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  for (let i = 0; i < 2000 && written() < r.size; i++) await Bun.sleep(1);
  return r;
};
const listObjects = store.prototype.listObjects;
store.prototype.listObjects = function (this: unknown, ...args: unknown[]) {
  const real = fs.readdirSync;
  (fs as { readdirSync: unknown }).readdirSync = (...a: Parameters<typeof real>) =>
    (real(...a) as unknown as string[]).sort();
  try {
    return listObjects.apply(this, args);
  } finally {
    fs.readdirSync = real;
  }
};
