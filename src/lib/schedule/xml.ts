/**
 * A strict reader for well-formed XML 1.0, enough for the Task Scheduler XML
 * sqlbak writes: one root element, matching end tags, quoted and unique
 * attributes, the five predefined entities and character references,
 * comments, CDATA and processing instructions. A DOCTYPE is refused (so no
 * entity can be declared), and names are limited to ASCII (every name sqlbak
 * writes is). What xmllint calls not well-formed throws XmlError with a line.
 */
import { entityText, invalidCharProblem, lineOf } from "./xml-text.ts";

/** One element: its attributes, child elements, and its own text (character data between the children, joined). */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  line: number;
}

export class XmlError extends Error {}

const NAME = "[A-Za-z_:][A-Za-z0-9_.:-]*";
/** XML's white space: JavaScript's \s also takes characters (U+00A0, U+2028, ...) that XML does not. */
const S = "[ \\t\\r\\n]";
const START_TAG = new RegExp(`<(${NAME})`, "y");
const ATTRIBUTE = new RegExp(`${S}+(${NAME})${S}*=${S}*("[^"<]*"|'[^'<]*')`, "y");
const TAG_END = new RegExp(`${S}*(/?)>`, "y");
const END_TAG = new RegExp(`</(${NAME})${S}*>`, "y");
const PI = new RegExp(`<\\?(${NAME})(${S}[^]*?)?\\?>`, "y");
const DECLARATION = new RegExp(
  `^<\\?xml${S}+version${S}*=${S}*(["'])1\\.0\\1(?:${S}+encoding${S}*=${S}*(["'])([A-Za-z][\\w.-]*)\\2)?(?:${S}+standalone${S}*=${S}*(["'])(?:yes|no)\\4)?${S}*\\?>`,
);

/** Given the text of an XML document, return its root element; throws XmlError on anything not well-formed. */
export function parseXml(input: string): XmlElement {
  const text = input.startsWith("\uFEFF") ? input.slice(1) : input;
  const badChar = invalidCharProblem(text);
  if (badChar) throw new XmlError(badChar);
  let pos = 0;
  const fail = (what: string, at = pos): never => {
    throw new XmlError(`${what} at line ${lineOf(text, at)}`);
  };
  const decode = (raw: string, at: number) =>
    raw.replace(/&([^;\s&<]*);?/g, (whole, name: string) => {
      if (!whole.endsWith(";")) fail('a bare "&" (write &amp;)', at);
      const ch = entityText(name);
      if (ch === null) fail(`the entity &${name}; is not defined`, at);
      return ch!;
    });
  /** Skips a comment or processing instruction at pos; false when there is none. */
  const skipMarkup = (): boolean => {
    if (text.startsWith("<!--", pos)) {
      const end = text.indexOf("-->", pos + 4);
      if (end < 0) fail("an unterminated comment");
      if (text.slice(pos + 4, end + 1).includes("--")) fail('"--" inside a comment');
      pos = end + 3;
      return true;
    }
    if (text.startsWith("<?", pos)) {
      PI.lastIndex = pos;
      const pi = PI.exec(text);
      if (!pi) fail("an unterminated processing instruction");
      if (pi![1]!.toLowerCase() === "xml") fail("an XML declaration that is not at the very start");
      pos += pi![0].length;
      return true;
    }
    if (text.startsWith("<!DOCTYPE", pos)) fail("a DOCTYPE (not allowed here)");
    return false;
  };
  const skipMisc = () => {
    for (;;) {
      while (" \t\r\n".includes(text[pos] ?? "x")) pos++;
      if (!skipMarkup()) return;
    }
  };
  const element = (): XmlElement => {
    const start = pos;
    START_TAG.lastIndex = pos;
    const open = START_TAG.exec(text) ?? fail("expected an element");
    pos = START_TAG.lastIndex;
    const el: XmlElement = { name: open[1]!, attrs: {}, children: [], text: "", line: lineOf(text, start) };
    for (;;) {
      ATTRIBUTE.lastIndex = pos;
      const a = ATTRIBUTE.exec(text);
      if (!a) break;
      if (a[1]! in el.attrs) fail(`a duplicate attribute ${a[1]} on <${el.name}>`);
      el.attrs[a[1]!] = decode(a[2]!.slice(1, -1), pos);
      pos = ATTRIBUTE.lastIndex;
    }
    TAG_END.lastIndex = pos;
    const end = TAG_END.exec(text) ?? fail(`a malformed start tag <${el.name}>`);
    pos = TAG_END.lastIndex;
    if (end[1] === "/") return el;
    for (;;) {
      const lt = text.indexOf("<", pos);
      if (lt < 0) fail(`<${el.name}> is not closed`, start);
      const raw = text.slice(pos, lt);
      if (raw.includes("]]>")) fail('"]]>" in text');
      el.text += decode(raw, pos);
      pos = lt;
      if (text.startsWith("</", pos)) {
        END_TAG.lastIndex = pos;
        const close = END_TAG.exec(text) ?? fail("a malformed end tag");
        if (close[1] !== el.name) fail(`</${close[1]}> where </${el.name}> (opened at line ${el.line}) belongs`);
        pos = END_TAG.lastIndex;
        return el;
      }
      if (text.startsWith("<![CDATA[", pos)) {
        const cdataEnd = text.indexOf("]]>", pos);
        if (cdataEnd < 0) fail("an unterminated CDATA section");
        el.text += text.slice(pos + 9, cdataEnd);
        pos = cdataEnd + 3;
      } else if (!skipMarkup()) el.children.push(element());
    }
  };
  const decl = DECLARATION.exec(text);
  if (/^<\?xml[ \t\r\n?]/.test(text) && !decl) fail("a malformed XML declaration", 0);
  if (decl?.[3] && decl[3].toUpperCase() !== "UTF-8") fail(`an XML declaration naming ${decl[3]} for a UTF-8 file`, 0);
  pos = decl ? decl[0].length : 0;
  skipMisc();
  const root = element();
  skipMisc();
  if (pos !== text.length) fail(`content after the root element </${root.name}>`);
  return root;
}
