/**
 * The layout rules of docs/architecture.md, checked from the source text:
 * every import counts (type-only, lazy `import()`, `export … from`, and a
 * worker started from `new URL("./x.ts", import.meta.url)`), because each is
 * a design dependency even when it costs nothing at run time.
 *
 * - no import cycle between files of src/, nor between the folders of src/lib;
 * - src/lib never imports the CLI side (src/commands, cli.ts, main.ts) or the
 *   CLI packages (citty, consola, @clack/prompts);
 * - a folder of src/lib (and src/age) is entered only through its index.ts;
 * - src/lib/model imports nothing else from src/lib, and src/age nothing from src/lib.
 *
 * `bun scripts/architecture.ts` prints the violations and exits 1 when there
 * are any; test/unit/architecture.test.ts runs the same check.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, sep } from "node:path";

/** Packages only the CLI side may use. */
const CLI_PACKAGES = ["citty", "consola", "@clack/prompts"];
const CLI_FILES = ["src/commands/", "src/cli.ts", "src/main.ts"];

export interface Edge {
  from: string;
  to: string;
}

/** The text of a TypeScript file with its comments blanked out (strings and regex literals kept). */
export function stripComments(text: string): string {
  let out = "";
  let i = 0;
  let lastCode = "";
  const templateDepth: number[] = [];
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 2;
      out += " ";
      continue;
    }
    if (c === '"' || c === "'") {
      const start = i++;
      while (i < text.length && text[i] !== c && text[i] !== "\n") i += text[i] === "\\" ? 2 : 1;
      out += text.slice(start, ++i);
      lastCode = c;
      continue;
    }
    if (c === "`" || (c === "}" && templateDepth.at(-1) === 0)) {
      if (c === "}") templateDepth.pop();
      const start = i++;
      while (i < text.length && text[i] !== "`" && !(text[i] === "$" && text[i + 1] === "{"))
        i += text[i] === "\\" ? 2 : 1;
      if (text[i] === "$") {
        templateDepth.push(0);
        i += 2;
      } else i++;
      out += text.slice(start, i);
      lastCode = "`";
      continue;
    }
    if (c === "/" && (lastCode === "" || "(,=:[!&|?{};+-*%<>~^".includes(lastCode))) {
      // A regex literal: skip to its closing slash (outside a character class).
      const start = i++;
      let inClass = false;
      while (i < text.length && text[i] !== "\n" && (inClass || text[i] !== "/")) {
        if (text[i] === "[") inClass = true;
        else if (text[i] === "]") inClass = false;
        i += text[i] === "\\" ? 2 : 1;
      }
      out += text.slice(start, ++i);
      lastCode = "/";
      continue;
    }
    if (templateDepth.length > 0) {
      if (c === "{") templateDepth[templateDepth.length - 1]!++;
      else if (c === "}") templateDepth[templateDepth.length - 1]!--;
    }
    if (!/\s/.test(c)) lastCode = c;
    out += c;
    i++;
  }
  return out;
}

const SPECIFIERS = [
  /\b(?:import|export)\s+(?:type\s+)?[^;"'`]*?\bfrom\s*["']([^"']+)["']/g,
  /\bimport\s*["']([^"']+)["']/g,
  /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  /\bnew URL\(\s*["']([^"']+\.ts)["']\s*,\s*import\.meta\.url/g,
];

/** Every module specifier a file names, in the four forms above. */
export function specifiersOf(text: string): string[] {
  const code = stripComments(text);
  return SPECIFIERS.flatMap((re) => [...code.matchAll(re)].map((m) => m[1]!));
}

function tsFiles(root: string, dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return tsFiles(root, path);
    return name.endsWith(".ts") ? [path.split(sep).join("/")] : [];
  });
}

/** The import edges of the files under `root`/src: relative ones as repository paths, packages by name. */
export function importEdges(root: string): Edge[] {
  const edges: Edge[] = [];
  for (const file of tsFiles(root, "src")) {
    for (const spec of specifiersOf(readFileSync(join(root, file), "utf8"))) {
      const to = spec.startsWith(".")
        ? normalize(join(dirname(file), spec))
            .split(sep)
            .join("/")
        : spec;
      edges.push({ from: file, to });
    }
  }
  return edges;
}

/** The folder a path belongs to as a unit of the layout: `src/lib/<folder>`, `src/age`, or null. */
export function unitOf(path: string): string | null {
  const lib = /^src\/lib\/([^/]+)\//.exec(path);
  if (lib) return `src/lib/${lib[1]}`;
  return path.startsWith("src/age/") ? "src/age" : null;
}

/** The strongly connected parts of a graph with more than one node (Tarjan): its cycles. */
export function cyclesOf(edges: Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (from === to) continue;
    if (!next.has(from)) next.set(from, new Set());
    next.get(from)!.add(to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const part: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      part.push(w);
    } while (w !== v);
    if (part.length > 1) cycles.push(part.sort());
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** One line per broken rule; empty when the tree keeps them all. */
export function architectureViolations(edges: Edge[]): string[] {
  const problems: string[] = [];
  for (const cycle of cyclesOf(edges)) problems.push(`import cycle between files: ${cycle.join(", ")}`);
  const unitEdges = edges.flatMap(({ from, to }) => {
    const a = unitOf(from);
    const b = unitOf(to);
    return a && b && a !== b ? [{ from: a, to: b }] : [];
  });
  for (const cycle of cyclesOf(unitEdges)) problems.push(`import cycle between folders: ${cycle.join(", ")}`);
  for (const { from, to } of edges) {
    const a = unitOf(from);
    const b = unitOf(to);
    if (from.startsWith("src/lib/")) {
      if (CLI_PACKAGES.includes(to)) problems.push(`${from} imports ${to}: the library stays free of CLI packages`);
      if (CLI_FILES.some((c) => to.startsWith(c)))
        problems.push(`${from} imports ${to}: the library never imports the CLI side`);
    }
    if (b && a !== b && to !== `${b}/index.ts`)
      problems.push(`${from} imports ${to}: other folders enter ${b} only through ${b}/index.ts`);
    if (b && a !== b && to.startsWith("src/lib/") && (a === "src/lib/model" || a === "src/age")) {
      problems.push(`${from} imports ${to}: ${a} imports nothing from src/lib`);
    }
  }
  return problems;
}

if (import.meta.main) {
  const root = join(import.meta.dir, "..");
  const problems = architectureViolations(importEdges(root));
  for (const p of problems) console.error(p);
  console.error(
    problems.length === 0
      ? "architecture: no cycles, every folder entered through its index"
      : `architecture: ${problems.length} problem(s)`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}
