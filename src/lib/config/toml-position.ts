/**
 * Where a TOML syntax error is. Bun's TOML parser reports what is wrong but not
 * where, so the position is found by parsing prefixes of the text: the error is
 * on the first line from which every longer prefix fails with the same message,
 * and at the first character of that line from which it does.
 */

export interface TomlPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  column: number;
}

/** Files past this size are not scanned line by line (each step re-parses a prefix). */
const MAX_SCAN_LINES = 5000;

function failsWith(text: string, message: string): boolean {
  try {
    Bun.TOML.parse(text);
    return false;
  } catch (err) {
    return (err as Error).message === message;
  }
}

/**
 * Given a text that Bun.TOML.parse rejects with `message`, returns the line and
 * column of the error. Scanning backwards from the end keeps a construct that
 * only later goes wrong (an array over several lines, then a bad line) from
 * being blamed on the line it opens on. A redefined key or table points at its
 * name, an unterminated string at its opening quote.
 */
export function findTomlErrorPosition(text: string, message: string): TomlPosition {
  const lines = text.split("\n");
  const starts: number[] = [];
  let offset = 0;
  for (const l of lines) {
    starts.push(offset);
    offset += l.length + 1;
  }
  let line = lines.length;
  if (lines.length <= MAX_SCAN_LINES) {
    while (line > 1 && failsWith(text.slice(0, starts[line - 1]), message)) line--;
  }
  const lineText = lines[line - 1] ?? "";
  const before = text.slice(0, starts[line - 1]);
  // Column c blames the c-th character; one past the line's end blames the line break.
  let column = lineText.length + 1;
  while (column > 1 && failsWith(before + lineText.slice(0, column - 1), message)) column--;
  const bare = message.replace(/^TOML Parse error:\s*/, "");
  // The parser stops at the end of the line; the string's opening quote is what to fix.
  if (bare.startsWith("Unterminated string")) {
    let at = Math.max(lineText.lastIndexOf('"'), lineText.lastIndexOf("'"));
    while (at > 0 && lineText[at - 1] === lineText[at]) at--;
    if (at >= 0) column = at + 1;
  }
  const redefined = /^Cannot redefine (?:key|table) '(.*)'$/.exec(bare);
  if (redefined) {
    const name = redefined[1]!.split(".").pop()!;
    const at = lineText.indexOf(name);
    if (at >= 0) column = at;
    else column = lineText.length - lineText.trimStart().length;
    column++;
  }
  return { line, column: Math.max(column, 1) };
}
