/**
 * The pieces of incremental (page-level) backups, as bytes and files: keyed
 * page ids and the id key, the page map of a backup, packs of compressed
 * pages and their indexes. Formats only: what a folder holds and when is
 * decided elsewhere.
 * Byte layouts: docs/format.md.
 */

export {
  ID_KEY_COPY_RE,
  idKeyCopyName,
  LOCAL_ID_KEY_FILE,
  type LoadedIdKey,
  loadOrCreateIdKey,
  readLocalIdKey,
} from "./id-key.ts";
export {
  indexKey,
  metaKey,
  openSealed,
  SEAL_HEADER_BYTES,
  SEAL_KEY_INFO,
  SealError,
  type SealKey,
  type SealPurpose,
  seal,
  sealedFingerprint,
} from "./id-seal.ts";
export {
  FRAME_RAW_BYTES,
  isValidPageSize,
  NEW_PACKS_PER_IMAGE,
  PACK_TARGET_RAW_BYTES,
  PageFormatError,
  packTargetRawBytes,
  pagesPerFrame,
} from "./layout.ts";
export { manifestText, openManifestMeta, openSealedMeta, withMetaBlock } from "./manifest-meta.ts";
export {
  decodeMap,
  decodeMapColumns,
  encodeMap,
  entryOf,
  MapBuilder,
  type PageMap,
  type PageRun,
  RUN_FIELDS,
  validateMapPacks,
} from "./map.ts";
export {
  decodePackIndex,
  encodePackIndex,
  entryCountOf,
  idAt,
  type PackIndex,
} from "./pack-index.ts";
export { type PackEntry, PackKeyError, type ReadPackOptions, readPack } from "./pack-reader.ts";
export { type FinishedPack, PackWriter, type PackWriterOptions } from "./pack-writer.ts";
export { ID_KEY_BYTES, KEY_FINGERPRINT_BYTES, keyFingerprint, PAGE_ID_BYTES, pageId } from "./page-id.ts";
