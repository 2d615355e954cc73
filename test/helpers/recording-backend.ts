/** A storage backend that records what is put, for tests of what sync uploads and in which order. */
import type { Backend } from "../../src/lib/store/backend.ts";

/** Wraps `inner`: every put is recorded in `puts`; `before` may act just before one (or throw instead of it). */
export function recording(inner: Backend, before?: (key: string) => Promise<void>) {
  const puts: string[] = [];
  const backend: Backend = {
    ...inner,
    describe: inner.describe,
    checkSizes: inner.checkSizes,
    async put(localPath, key) {
      await before?.(key);
      puts.push(key);
      await inner.put(localPath, key);
    },
  };
  return { backend, puts };
}
