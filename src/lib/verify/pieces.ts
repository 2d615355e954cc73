/**
 * The checksum level of a pages backup: its map and every pack it references
 * are present, regular files of the recorded size and, when hashed, of the
 * recorded SHA-256 of their stored bytes (nothing is decrypted or
 * decompressed). Every pack is checked, so each damaged one is named.
 * Layout: docs/format.md.
 */
import { join } from "node:path";
import type { ByteProgress, StoredPack, StoredPages } from "../model/index.ts";
import { type FileLabel, hashRegularFile, statRegularFile } from "./files.ts";

const short = (sha: string) => sha.slice(0, 12);

export interface PiecesCheck {
  problems: string[];
  /** The packs that are missing, not regular files, or not of their recorded size or SHA-256. */
  badPacks: string[];
}

async function sumsOf(path: string, label: FileLabel, hash: boolean) {
  return hash ? await hashRegularFile(path, label) : statRegularFile(path, label);
}

/** One stored file against its recorded size and SHA-256: the problem, or null. */
export function comparePiece(
  sums: { size: number; sha256?: string } | string,
  what: string,
  want: { size: number; sha256: string },
): string | null {
  if (typeof sums === "string") return sums;
  if (sums.size !== want.size)
    return `${what} is ${sums.size} bytes, manifest says ${want.size} (truncated or replaced)`;
  if (sums.sha256 !== undefined && sums.sha256 !== want.sha256)
    return `${what} sha256 ${short(sums.sha256)}… does not match the manifest's ${short(want.sha256)}… (damaged or changed)`;
  return null;
}

/** One pack stored in `folder` against its record: the problem (naming the pack), or null. */
export async function checkPack(folder: string, p: StoredPack, hash = true): Promise<string | null> {
  const label = { what: `pack ${p.name}`, missing: `pack ${p.name} is missing` };
  return comparePiece(await sumsOf(join(folder, p.name), label, hash), label.what, p);
}

/**
 * Checks the map and packs of `pages`, stored in `folder`; `hash` false checks presence and sizes only.
 * `onProgress` hears the recorded bytes of the packs checked so far, pack by pack.
 */
export async function checkPagesPieces(
  folder: string,
  pages: StoredPages,
  hash: boolean,
  onProgress?: ByteProgress,
): Promise<PiecesCheck> {
  const problems: string[] = [];
  const badPacks: string[] = [];
  const mapLabel = { what: `map file ${pages.file}`, missing: `map file ${pages.file} is missing` };
  const mapProblem = comparePiece(await sumsOf(join(folder, pages.file), mapLabel, hash), mapLabel.what, pages);
  if (mapProblem) problems.push(mapProblem);
  const total = pages.packs.reduce((n, p) => n + p.size, 0);
  let done = 0;
  for (const p of pages.packs) {
    const problem = await checkPack(folder, p, hash);
    if (problem) {
      problems.push(problem);
      badPacks.push(p.name);
    }
    done += p.size;
    if (hash) onProgress?.(done, total);
  }
  return { problems, badPacks };
}
