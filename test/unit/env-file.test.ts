/** The environment file's syntax: what each line means, and errors that name the line but never the value. */
import { describe, expect, it } from "bun:test";
import { parseEnvFile } from "../../src/lib/system/env-file.ts";

describe("parseEnvFile", () => {
  it(`reads KEY=value lines, skips blanks and comments, strips one pair of quotes, drops a trailing CR, \
expands nothing`, () => {
    const text = [
      "# comment",
      "",
      "   # indented comment",
      "PLAIN=a b  c",
      "SINGLE='it has # and $HOME'",
      'DOUBLE="x=y \\n"',
      "EMPTY=",
      "  SPACED  =v",
      "CRLF=value\r",
      "TICKS=`id`",
    ].join("\n");
    expect(Object.fromEntries(parseEnvFile(text, "f"))).toEqual({
      PLAIN: "a b  c",
      SINGLE: "it has # and $HOME",
      DOUBLE: "x=y \\n",
      EMPTY: "",
      SPACED: "v",
      CRLF: "value",
      TICKS: "`id`",
    });
  });

  it("the last of repeated keys wins", () => {
    expect(parseEnvFile("A=1\nA=2\n", "f").get("A")).toBe("2");
  });

  it.each([
    ["no equals sign", "ok=1\nsecretvalue\n", "f:2: expected KEY=value"],
    ["a bad name", "1ABC=secretvalue", 'f:1: the part before "=" is not a variable name'],
    ["export prefix", "export A=secretvalue", 'f:1: the part before "=" is not a variable name'],
    ["an unclosed quote", "A='secretvalue", "f:1: A: a quoted value must be wholly inside one pair of ' quotes"],
    ["text after the quote", 'A="secret" value', 'f:1: A: a quoted value must be wholly inside one pair of " quotes'],
    [
      "a quote inside the quotes",
      "A='sec'retvalue'",
      "f:1: A: a quoted value must be wholly inside one pair of ' quotes",
    ],
    ["a lone quote", "A='", "f:1: A: a quoted value must be wholly inside one pair of ' quotes"],
  ])("rejects %s, naming the line and not the value", (_, text, message) => {
    let err: Error | undefined;
    try {
      parseEnvFile(text, "f");
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toStartWith(message);
    expect(err?.message).not.toContain("secret");
  });
});
