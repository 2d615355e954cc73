import { describe, expect, it } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { architectureViolations, importEdges, specifiersOf } from "../../scripts/architecture.ts";
import { tempDir } from "../helpers/tmp.ts";

const ROOT = join(import.meta.dir, "..", "..");

/** A source tree in a temporary folder: repository path -> file text. */
function tree(files: Record<string, string>): string {
  const root = tempDir("sqlbak-arch-");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const violationsOf = (files: Record<string, string>) => architectureViolations(importEdges(tree(files)));

describe("the layout of src/", () => {
  it("has no import cycle, keeps the library free of the CLI, and enters every folder through its index", () => {
    expect(architectureViolations(importEdges(ROOT))).toEqual([]);
  });
});

describe("architectureViolations", () => {
  it("finds a cycle closed by a type-only import", () => {
    const v = violationsOf({
      "src/lib/a/index.ts": 'export { x } from "./x.ts";\n',
      "src/lib/a/x.ts": 'import type { Y } from "./y.ts";\nexport const x = 1;\n',
      "src/lib/a/y.ts": 'import { x } from "./x.ts";\nexport type Y = typeof x;\n',
    });
    expect(v).toEqual(["import cycle between files: src/lib/a/x.ts, src/lib/a/y.ts"]);
  });

  it("finds a cycle closed by a lazy import(), and one between folders through their indexes", () => {
    const v = violationsOf({
      "src/lib/a/index.ts": 'export { a } from "./a.ts";\n',
      "src/lib/a/a.ts": 'export async function a() { return (await import("../b/index.ts")).b; }\n',
      "src/lib/b/index.ts": 'export { b } from "./b.ts";\n',
      "src/lib/b/b.ts": 'import { a } from "../a/index.ts";\nexport const b = a;\n',
    });
    expect(v).toContain("import cycle between folders: src/lib/a, src/lib/b");
    expect(v.some((p) => p.startsWith("import cycle between files:"))).toBe(true);
  });

  it("refuses the library importing a CLI package or the CLI side", () => {
    const v = violationsOf({
      "src/lib/a/index.ts":
        'import { createConsola } from "consola";\nimport { commands } from "../../commands/index.ts";\n',
      "src/commands/index.ts": "export const commands = {};\n",
    });
    expect(v).toEqual([
      "src/lib/a/index.ts imports consola: the library stays free of CLI packages",
      "src/lib/a/index.ts imports src/commands/index.ts: the library never imports the CLI side",
    ]);
  });

  it("refuses reaching into another folder's files, from the library and from commands", () => {
    const v = violationsOf({
      "src/lib/a/index.ts": 'export { x } from "./x.ts";\n',
      "src/lib/a/x.ts": "export const x = 1;\n",
      "src/lib/b/index.ts": 'import { x } from "../a/x.ts";\n',
      "src/commands/c.ts": 'import { x } from "../lib/a/x.ts";\n',
    });
    expect(v).toEqual([
      "src/lib/b/index.ts imports src/lib/a/x.ts: other folders enter src/lib/a only through src/lib/a/index.ts",
      "src/commands/c.ts imports src/lib/a/x.ts: other folders enter src/lib/a only through src/lib/a/index.ts",
    ]);
  });

  it("keeps model free of the rest of the library", () => {
    const v = violationsOf({
      "src/lib/model/index.ts": 'import { f } from "../system/index.ts";\n',
      "src/lib/system/index.ts": "export const f = 1;\n",
    });
    expect(v).toEqual([
      "src/lib/model/index.ts imports src/lib/system/index.ts: src/lib/model imports nothing from src/lib",
    ]);
  });
});

describe("specifiersOf", () => {
  it("reads every form of import and ignores commented-out ones", () => {
    const text = [
      'import { a } from "./a.ts";',
      'import type { B } from "./b.ts";',
      'export * from "./c.ts";',
      "import {",
      "  d,",
      '} from "./d.ts";',
      'const e = await import("./e.ts");',
      'const w = new Worker(new URL("./w.ts", import.meta.url).href);',
      '// import { no } from "./commented.ts";',
      '/* import { no } from "./block.ts"; */',
      'const url = "https://example.invalid/x"; import "./f.ts";',
      'const re = /["\']/; import { g } from "./g.ts";',
      'const t = `${"`"} // not a comment`; import { h } from "./h.ts";',
    ].join("\n");
    expect(specifiersOf(text).sort()).toEqual([
      "./a.ts",
      "./b.ts",
      "./c.ts",
      "./d.ts",
      "./e.ts",
      "./f.ts",
      "./g.ts",
      "./h.ts",
      "./w.ts",
    ]);
  });
});
