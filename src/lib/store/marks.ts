/**
 * Tags and pins of existing backups. A manifest is never rewritten for them:
 * `<id>.tags.json` beside it, `{"version": 1, "add": [...], "remove": [...]}`,
 * says which tags to add to and remove from the ones the manifest carries. A
 * pin is the `keep` tag, which retention honours. The listing (list.ts)
 * applies the marker to each backup it lists, so rotate, list, stats and the
 * destinations' retention all see the same tags. The marker is copied to the
 * destinations by sync and removed with its backup. A marker that cannot be
 * read or parsed changes nothing (the manifest's own tags stand).
 */
import { MAX_MANIFEST_BYTES } from "../model/index.ts";

/** `<id>.tags.json`; never a manifest name (`<id>.tags` is no backup id), so the listing ignores it otherwise. */
export const TAGS_MARK_SUFFIX = ".tags.json";

/** A tag as `backup --tag` accepts it. */
export const TAG_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export interface TagMark {
  add: string[];
  remove: string[];
}

export function tagsMarkName(id: string): string {
  return `${id}${TAGS_MARK_SUFFIX}`;
}

/** The backup id a marker name belongs to, else null. */
export function tagsMarkId(name: string): string | null {
  return name.endsWith(TAGS_MARK_SUFFIX) ? name.slice(0, -TAGS_MARK_SUFFIX.length) : null;
}

/** Parses a marker's text; null when it is not a valid marker. */
export function parseTagMark(text: string | null): TagMark | null {
  if (text === null || text.length > MAX_MANIFEST_BYTES) return null;
  try {
    const v = JSON.parse(text) as { version?: unknown; add?: unknown; remove?: unknown };
    const list = (x: unknown): string[] | null =>
      Array.isArray(x) && x.every((t) => typeof t === "string" && TAG_RE.test(t)) ? (x as string[]) : null;
    const add = list(v?.add ?? []);
    const remove = list(v?.remove ?? []);
    if (v?.version !== 1 || !add || !remove) return null;
    return { add, remove };
  } catch {
    return null;
  }
}

export function serializeTagMark(m: TagMark): string {
  return `${JSON.stringify({ version: 1, add: [...m.add].sort(), remove: [...m.remove].sort() }, null, 2)}\n`;
}

/** The tags a backup has: the manifest's, plus the marker's `add`, minus its `remove`. */
export function applyTagMark(tags: string[], mark: TagMark | null): string[] {
  if (!mark) return tags;
  const out = [...tags, ...mark.add.filter((t) => !tags.includes(t))];
  return out.filter((t) => !mark.remove.includes(t));
}

/**
 * The marker that gives a backup whose manifest has `manifestTags` the
 * `wanted` tags; null when the manifest's own tags are it (no marker needed).
 */
export function markFor(manifestTags: string[], wanted: string[]): TagMark | null {
  const add = wanted.filter((t) => !manifestTags.includes(t));
  const remove = manifestTags.filter((t) => !wanted.includes(t));
  return add.length || remove.length ? { add, remove } : null;
}
