/**
 * A strict reader for the XML property lists sqlbak writes (what Python's
 * plistlib or `plutil -lint` would accept, limited to the types sqlbak uses:
 * dict, array, string, integer, true, false). It exists so that
 * `install-schedule --apply` can read a plist back before writing it, on any
 * platform, without plutil. Throws PlistError with a position on anything else.
 */
import { entityText, invalidCharProblem, lineOf } from "./xml-text.ts";

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

export class PlistError extends Error {}

function decodeText(raw: string, at: () => string): string {
  if (raw.includes("<")) throw new PlistError(`unexpected "<" ${at()}`);
  return raw.replace(/&([^;\s&]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(";")) throw new PlistError(`unterminated entity ${at()}`);
    const ch = entityText(name);
    if (ch === null) throw new PlistError(`invalid entity &${name}; ${at()}`);
    return ch;
  });
}

/** Given the text of an XML property list, return its root value; throws PlistError. */
export function parsePlist(text: string): PlistValue {
  const badChar = invalidCharProblem(text);
  if (badChar) throw new PlistError(badChar);
  let pos = 0;
  const at = () => `at line ${lineOf(text, pos)}`;
  const skipMisc = () => {
    for (;;) {
      const ws = /^\s*/.exec(text.slice(pos))![0].length;
      pos += ws;
      const rest = text.slice(pos);
      const close = rest.startsWith("<!--")
        ? "-->"
        : rest.startsWith("<?")
          ? "?>"
          : rest.startsWith("<!DOCTYPE")
            ? ">"
            : null;
      if (!close) return;
      const end = text.indexOf(close, pos + 2);
      if (end < 0) throw new PlistError(`unterminated markup ${at()}`);
      if (close === "-->" && text.slice(pos + 4, end).includes("--"))
        throw new PlistError(`"--" inside a comment ${at()}`);
      pos = end + close.length;
    }
  };
  const tag = (): { name: string; close: boolean; empty: boolean } => {
    skipMisc();
    const m = /^<(\/?)([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w.-]*\s*=\s*"[^"<]*")*)\s*(\/?)>/.exec(text.slice(pos));
    if (!m) throw new PlistError(`expected a tag ${at()}`);
    pos += m[0].length;
    return { name: m[2]!, close: m[1] === "/", empty: m[4] === "/" };
  };
  const expectClose = (name: string) => {
    const t = tag();
    if (!t.close || t.name !== name) throw new PlistError(`expected </${name}> ${at()}`);
  };
  const textUntil = (name: string): string => {
    const end = text.indexOf(`</${name}>`, pos);
    if (end < 0) throw new PlistError(`missing </${name}> ${at()}`);
    const value = decodeText(text.slice(pos, end), at);
    pos = end + name.length + 3;
    return value;
  };
  const value = (t = tag()): PlistValue => {
    if (t.close) throw new PlistError(`unexpected </${t.name}> ${at()}`);
    switch (t.name) {
      case "true":
      case "false":
        if (!t.empty) expectClose(t.name);
        return t.name === "true";
      case "string":
        return t.empty ? "" : textUntil("string");
      case "integer": {
        const raw = t.empty ? "" : textUntil("integer").trim();
        if (!/^[+-]?[0-9]+$/.test(raw)) throw new PlistError(`"${raw}" is not an integer ${at()}`);
        return Number(raw);
      }
      case "array": {
        const items: PlistValue[] = [];
        if (t.empty) return items;
        for (let next = tag(); !(next.close && next.name === "array"); next = tag()) items.push(value(next));
        return items;
      }
      case "dict": {
        const dict: Record<string, PlistValue> = {};
        if (t.empty) return dict;
        for (let next = tag(); !(next.close && next.name === "dict"); next = tag()) {
          if (next.name !== "key" || next.close || next.empty) throw new PlistError(`expected <key> in <dict> ${at()}`);
          const key = textUntil("key");
          if (key in dict) throw new PlistError(`duplicate key "${key}" ${at()}`);
          dict[key] = value();
        }
        return dict;
      }
      default:
        throw new PlistError(`unsupported element <${t.name}> ${at()}`);
    }
  };
  const root = tag();
  if (root.name !== "plist" || root.close || root.empty) throw new PlistError(`expected <plist> ${at()}`);
  const result = value();
  expectClose("plist");
  skipMisc();
  if (pos !== text.length) throw new PlistError(`content after </plist> ${at()}`);
  return result;
}
