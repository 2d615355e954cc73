/** Where a TOML syntax error is: Bun's parser says what is wrong but not where. */
import { describe, expect, it } from "bun:test";
import { findTomlErrorPosition } from "../../src/lib/config/toml-position.ts";

function positionOf(text: string) {
  try {
    Bun.TOML.parse(text);
  } catch (err) {
    return findTomlErrorPosition(text, (err as Error).message);
  }
  throw new Error("the text parsed");
}

describe("findTomlErrorPosition", () => {
  it.each([
    ["an unterminated string, at its quote", 'a = 1\nb = "open\nc = 2\n', 2, 5],
    ["an unterminated multi-line string, at its quotes", 'a = 1\n  b = """never\nclosed\n', 2, 7],
    ["a table header without ], at the character found instead", "x = 1\n[bad header\ny = 2\n", 2, 6],
    ["an array-of-tables header without ]], at the line break", "x = 1\n[[database]\npath = 1\n", 2, 12],
    ["a redefined key, at the second definition's name", "x = 1\ny = 2\n  x = 3\n", 3, 3],
    ["a redefined table, at its name", "[a]\nk = 1\n[a]\nk = 2\n", 3, 2],
    // Every prefix ending inside the array fails too, but with another message.
    ["a bad line after an array over several lines", "arr = [\n  1,\n  2,\n]\nb = = 1\n", 5, 5],
    ["an array never closed, where it opens", "a = 1\narr = [\n  1,\n  2,\n", 2, 7],
    // A prefix ending inside the first (closed) array fails with the same message as the real error.
    ["an array never closed after one that is", "a = [\n  1,\n]\nb = [\n  2,\n", 4, 5],
    ["CRLF line endings", "a = 1\r\nb = = 2\r\n", 2, 5],
    ["the last line without a line break", "a = 1\nb = = 2", 2, 5],
    ["two pairs on one line", "a = 1 b = 2\n", 1, 7],
  ])("%s", (_what, text, line, column) => {
    expect(positionOf(text)).toEqual({ line, column });
  });
});
