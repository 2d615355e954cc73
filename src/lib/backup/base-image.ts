/**
 * The stored image a new pages backup may turn out to equal: the newest
 * listed pages backup of the same geometry whose raw SHA-256 is known here
 * and whose map can be read (plain, or age with the keys at hand). While
 * every page of the new snapshot is referenced at the very pack entry that
 * image's map gives for its place, the two images are equal page for page
 * (a page's keyed id names its content; docs/format.md), so the new image's
 * raw SHA-256 is that image's: an unchanged database is hashed once, for its
 * ids, not twice. At the first page that differs the caller falls back to
 * hashing the image (consume.ts). A map that is missing, damaged (size or
 * SHA-256 not the manifest's) or unreadable only means no base: nothing is
 * assumed from it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type AgeKeys, decryptBytes } from "../../age/index.ts";
import { type Manifest, storedPages } from "../model/index.ts";
import { decodeMapColumns, RUN_FIELDS } from "../pages/index.ts";

export class BaseImage {
  /** The run the next page falls in (its first field's offset in `runs`). */
  private at = 0;
  private nextPage = 1;

  /**
   * `runs`: the base map's runs as decodeMapColumns gives them (first page,
   * count, pack, first entry, stride); `packNames[i]`: the base's i-th pack.
   */
  constructor(
    readonly id: string,
    readonly rawSha256: string,
    readonly packNames: readonly string[],
    private readonly runs: Uint32Array,
  ) {}

  /**
   * Whether the base holds entry `entry` of its pack number `pack` at the next
   * page (pages are asked in order 1, 2, 3, …). A run that does not continue
   * the pages, or a stride other than 0 and 1, answers false: no base then.
   */
  has(pack: number, entry: number): boolean {
    const page = this.nextPage++;
    const r = this.runs;
    if (page === 1 || page >= r[this.at]! + r[this.at + 1]!) {
      if (page > 1) this.at += RUN_FIELDS;
      // Each run must start where the one before it ended, the first at page 1.
      if (this.at >= r.length || r[this.at] !== page) return false;
    }
    const at = this.at;
    const first = r[at]!;
    const stride = r[at + 4]!;
    if (page >= first + r[at + 1]! || stride > 1) return false;
    return r[at + 2] === pack && r[at + 3]! + (page - first) * stride === entry;
  }
}

/** The base for a snapshot of this geometry among `backups` (meta opened), or null. */
export function loadBaseImage(
  folder: string,
  backups: readonly Manifest[],
  geometry: { pageSize: number; pageCount: number },
  keys: AgeKeys | null,
): Promise<BaseImage | null> {
  const base = backups.findLast((m) => {
    const pages = storedPages(m);
    return (
      pages !== null &&
      pages.page_size === geometry.pageSize &&
      m.snapshot.page_count === geometry.pageCount &&
      typeof m.raw.sha256 === "string"
    );
  });
  return base ? readBase(folder, base, keys) : Promise.resolve(null);
}

async function readBase(folder: string, m: Manifest, keys: AgeKeys | null): Promise<BaseImage | null> {
  const pages = storedPages(m)!;
  try {
    let bytes: Uint8Array = readFileSync(join(folder, pages.file));
    const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    if (bytes.length !== pages.size || sha256 !== pages.sha256) return null;
    if (pages.encryption) {
      if (!keys) return null;
      bytes = await decryptBytes(bytes, keys);
    }
    const map = decodeMapColumns(Bun.zstdDecompressSync(bytes), pages.file);
    if (map.pageSize !== pages.page_size || map.pageCount !== m.snapshot.page_count) return null;
    return new BaseImage(
      m.id,
      m.raw.sha256!,
      pages.packs.map((p) => p.name),
      map.runs,
    );
  } catch {
    return null; // no base: the image is hashed as any other
  }
}
