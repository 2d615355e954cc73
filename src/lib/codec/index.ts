/** Stream in, stream out: zstd/gzip frames and age encryption of a backup's bytes. */
export {
  CHUNK_BYTES,
  type CompressResult,
  compressChunks,
  compressFile,
  MAX_IN_FLIGHT,
  type StoredFilter,
  writeAllSync,
  writeFailure,
} from "./compress.ts";
export {
  ageKeysFor,
  assertDecryptable,
  type DecryptionKeys,
  IDENTITY_ENV,
  loadDecryptionKeys,
  NO_KEYS,
  openEncrypted,
  requireDecryptionKeys,
  type Sealer,
  sealerFor,
  WrongKeyError,
  wrongKeyError,
} from "./encryption.ts";
export { decompressStored, FrameLayoutError, frameLength } from "./zstd-frames.ts";
