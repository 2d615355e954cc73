/** Values shared by the config, the manifest and the storage layout. */
export const COMPRESSIONS = ["zstd", "gzip", "none"] as const;
export type Compression = (typeof COMPRESSIONS)[number];
export const CHECK_LEVELS = ["none", "quick", "full"] as const;
export type CheckLevel = (typeof CHECK_LEVELS)[number];
/** How a backup copies the live database: "pages" streams its pages (WAL-aware), "vacuum" uses VACUUM INTO. */
export const SNAPSHOT_METHOD_NAMES = ["pages", "vacuum"] as const;
export type SnapshotMethodName = (typeof SNAPSHOT_METHOD_NAMES)[number];

/** Database names become file names: lowercase, digits, `_` and `-`, nothing that can leave a folder. */
export const DATABASE_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * The `version` every `--json` output starts with (docs/json.md): added fields keep it, a renamed or
 * removed field (or a changed meaning) bumps it.
 */
export const JSON_OUTPUT_VERSION = 1;
