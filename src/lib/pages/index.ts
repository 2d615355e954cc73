/**
 * The pieces of incremental (page-level) backups, as bytes and files: keyed
 * page ids, the page map of a backup, packs of compressed pages and their
 * indexes. Formats only: what a folder holds and when is decided elsewhere.
 * Byte layouts: docs/format.md.
 */
export {
  FRAME_RAW_BYTES,
  isValidPageSize,
  PACK_TARGET_RAW_BYTES,
  PageFormatError,
  pagesPerFrame,
} from "./layout.ts";
export {
  decodeMap,
  encodeMap,
  entryOf,
  MapBuilder,
  type PageMap,
  type PageRun,
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
