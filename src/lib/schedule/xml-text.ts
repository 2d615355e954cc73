/**
 * The character rules XML 1.0 puts on any document, shared by the two strict
 * readers that check what sqlbak generates: property lists (plist.ts) and
 * Task Scheduler XML (xml.ts).
 */

// XML 1.0 allows tab, line feed, carriage return and everything from U+0020 except the surrogates and U+FFFE/U+FFFF.
export const XML_CHAR = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** The 1-based line of code-unit `index` in `text`. */
export function lineOf(text: string, index: number): number {
  return text.slice(0, Math.max(0, index)).split("\n").length;
}

/** Null when every character of `text` is allowed in XML, else which one is not, and its line. */
export function invalidCharProblem(text: string): string | null {
  if (XML_CHAR.test(text)) return null;
  const bad = [...text].findIndex((c) => !XML_CHAR.test(c));
  const offset = [...text].slice(0, bad).join("").length;
  return (
    `character U+${text.codePointAt(offset)!.toString(16).toUpperCase().padStart(4, "0")} ` +
    `is not allowed in XML (line ${lineOf(text, offset)})`
  );
}

/** The text of the entity or character reference `&name;` (name without & and ;), or null when XML does not define it. */
export function entityText(name: string): string | null {
  if (name in ENTITIES) return ENTITIES[name]!;
  const code = /^#x[0-9a-f]+$/i.test(name)
    ? Number.parseInt(name.slice(2), 16)
    : /^#[0-9]+$/.test(name)
      ? Number(name.slice(1))
      : Number.NaN;
  const ch = Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : "";
  return ch && XML_CHAR.test(ch) ? ch : null;
}
