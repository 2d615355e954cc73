/**
 * The README and docs/ stay true where a machine can tell: relative links and
 * their #anchors resolve, every ```toml block is a config sqlbak accepts (or,
 * marked `<!-- docs-test: invalid -->`, one it refuses), and every
 * `sqlbak <command> --flag` names a real command and flag. The rules and the
 * markers are described in docs/testing.md ("The docs test").
 */
import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { loadCommandTree } from "../../src/commands/_command-tree.ts";
import { commands } from "../../src/commands/index.ts";
import { loadConfig } from "../../src/lib/config/index.ts";
import { ConfigError } from "../../src/lib/model/index.ts";
import { tempDir } from "../helpers/tmp.ts";

const ROOT = resolve(import.meta.dir, "../..");
const DOC_FILES = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];

interface Fence {
  lang: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The docs-test marker on the line before the fence, if any. */
  marker: "fragment" | "invalid" | null;
}

interface CodeSpan {
  text: string;
  line: number;
}

interface ParsedDoc {
  file: string;
  /** The text outside fenced blocks and inline code (both blanked, so offsets and lines stay). */
  prose: string;
  fences: Fence[];
  spans: CodeSpan[];
  headings: string[];
}

const MARKER_RE = /^<!--\s*docs-test:\s*(fragment|invalid)\s*-->$/;

function lineAt(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Splits off fenced code blocks (``` or ~~~, CommonMark rules), keeping every other line in place. */
function splitFences(text: string): { rest: string; fences: Fence[] } {
  const lines = text.split("\n");
  const fences: Fence[] = [];
  let open: { char: string; len: number; lang: string; line: number; marker: Fence["marker"]; body: string[] } | null =
    null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (open) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
      if (close && close[1]![0] === open.char && close[1]!.length >= open.len) {
        fences.push({ lang: open.lang, body: open.body.join("\n"), line: open.line, marker: open.marker });
        open = null;
      } else open.body.push(line);
      lines[i] = "";
      continue;
    }
    const start = /^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
    if (start) {
      const before = (lines[i - 1] ?? "").trim();
      const marker = (MARKER_RE.exec(before)?.[1] as Fence["marker"]) ?? null;
      open = {
        char: start[1]![0]!,
        len: start[1]!.length,
        lang: start[2]!.toLowerCase(),
        line: i + 1,
        marker,
        body: [],
      };
      lines[i] = "";
    }
  }
  if (open) throw new Error(`unclosed code fence at line ${open.line}`);
  return { rest: lines.join("\n"), fences };
}

/** Inline code spans (a run of n backticks up to the next run of exactly n), blanked out of the returned text. */
function splitCodeSpans(text: string): { rest: string; spans: CodeSpan[] } {
  const spans: CodeSpan[] = [];
  let rest = "";
  let i = 0;
  while (i < text.length) {
    if (text[i] !== "`") {
      rest += text[i++];
      continue;
    }
    let n = 0;
    while (text[i + n] === "`") n++;
    const run = "`".repeat(n);
    let close = -1;
    for (let j = text.indexOf(run, i + n); j !== -1; j = text.indexOf(run, j + 1)) {
      if (text[j - 1] !== "`" && text[j + n] !== "`") {
        close = j;
        break;
      }
    }
    if (close === -1) {
      rest += run;
      i += n;
      continue;
    }
    const raw = text.slice(i + n, close);
    spans.push({ text: raw.replace(/\n/g, " ").trim(), line: lineAt(text, i) });
    rest += text.slice(i, close + n).replace(/[^\n]/g, " ");
    i = close + n;
  }
  return { rest, spans };
}

/** GitHub's heading anchor: the rendered text, lower case, punctuation dropped, spaces as hyphens. */
function slugOf(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]*>/g, "")
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a document's headings, with GitHub's -1, -2, … for repeats. */
function anchorsOf(headings: string[]): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings) {
    const base = slugOf(h);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function parseDoc(file: string): ParsedDoc {
  const text = readFileSync(join(ROOT, file), "utf8");
  const { rest, fences } = splitFences(text);
  const headings = rest
    .split("\n")
    .map((l) => /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(l)?.[1])
    .filter((h): h is string => h !== undefined);
  const { rest: prose, spans } = splitCodeSpans(rest);
  return { file, prose, fences, spans, headings };
}

const docs = new Map(DOC_FILES.map((f) => [f, parseDoc(f)]));
const anchorCache = new Map<string, Set<string>>();

function anchorsOfFile(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (!anchors) {
    anchors = anchorsOf(docs.get(file)?.headings ?? parseDoc(file).headings);
    anchorCache.set(file, anchors);
  }
  return anchors;
}

/** Every problem with the relative links of one document, as "file:line: …". */
function linkProblems(doc: ParsedDoc): string[] {
  const problems: string[] = [];
  const re = /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
  for (const m of doc.prose.matchAll(re)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const where = `${doc.file}:${lineAt(doc.prose, m.index!)}`;
    const hash = target.indexOf("#");
    const path = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
    const abs = path ? resolve(ROOT, dirname(doc.file), decodeURIComponent(path)) : join(ROOT, doc.file);
    const rel = relative(ROOT, abs);
    if (rel.startsWith("..")) {
      problems.push(`${where}: link ${target} leaves the repository`);
      continue;
    }
    if (!existsSync(abs)) {
      problems.push(`${where}: link ${target}: ${rel} does not exist`);
      continue;
    }
    if (anchor !== null) {
      if (!rel.endsWith(".md")) problems.push(`${where}: link ${target}: anchors are only checked in Markdown files`);
      else if (!anchorsOfFile(rel).has(anchor))
        problems.push(`${where}: link ${target}: ${rel} has no heading with anchor #${anchor}`);
    }
  }
  return problems;
}

/** A ```toml block checked the way sqlbak loads a config file: "" when it is what its marker says. */
function tomlProblem(fence: Fence): string {
  if (fence.marker === "fragment") {
    try {
      Bun.TOML.parse(fence.body);
      return "";
    } catch (err) {
      return `fragment is not TOML: ${(err as Error).message}`;
    }
  }
  const dir = tempDir();
  const file = join(dir, "config.toml");
  writeFileSync(file, fence.body);
  let problems: string[] = [];
  try {
    loadConfig({ configPath: file }, { HOME: dir }, dir);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = err.message.split("\n");
  }
  if (fence.marker === "invalid") {
    if (problems.length === 0) return "marked invalid, but sqlbak accepts it";
    const expected = /#\s*refused:\s*(.+?)\s*$/m.exec(fence.body)?.[1];
    return expected && !problems.some((p) => p.includes(expected))
      ? `refused, but not with "${expected}": ${problems.join("; ")}`
      : "";
  }
  return problems.join("; ");
}

type FlagTree = Map<string, Set<string>>;

async function flagTree(): Promise<FlagTree> {
  const tree = await loadCommandTree(commands);
  return new Map(tree.map((c) => [c.name, new Set(c.flags.map((f) => f.name))]));
}

/** The `--flags` of a command line, stopping at a pipe, `;`, `&&`, `||` or a shell comment. */
function flagsIn(args: string): string[] {
  const cut = args.split(/\s\|\s+(?!-)|;|&&|\|\||\s#/)[0]!;
  return [...cut.matchAll(/(?:^|[\s[(|])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!);
}

/** Problems with the commands and flags named in one piece of code. */
function commandProblems(code: string, tree: FlagTree): string[] {
  const problems: string[] = [];
  const check = (command: string, args: string) => {
    const flags = tree.get(command);
    if (!flags) return problems.push(`"sqlbak ${command}": no such command`);
    for (const flag of flagsIn(args))
      if (!flags.has(flag)) problems.push(`"sqlbak ${command} … --${flag}": ${command} has no flag --${flag}`);
  };
  const uses = [...code.matchAll(/(?<![\w.@~-])sqlbak[ \t]+([a-z][a-z0-9-]*)/g)];
  uses.forEach((m, i) => {
    const end = uses[i + 1]?.index ?? code.length;
    check(m[1]!, code.slice(m.index! + m[0].length, end));
  });
  // Inline code that starts with a command name: `backup --rotate`, `stats --check`.
  const first = /^([a-z][a-z0-9-]*)\s+(.*)$/.exec(code);
  if (uses.length === 0 && first && tree.has(first[1]!) && /(^|\s)--[a-z]/.test(first[2]!)) check(first[1]!, first[2]!);
  return problems;
}

describe("docs", () => {
  it("covers the README and every page in docs/, and the README links every page", () => {
    expect(DOC_FILES.length).toBeGreaterThan(10);
    const readme = docs.get("README.md")!;
    const linked = new Set([...readme.prose.matchAll(/\]\((docs\/[a-z0-9-]+\.md)[)#]/g)].map((m) => m[1]!));
    expect(DOC_FILES.filter((f) => f.startsWith("docs/") && !linked.has(f))).toEqual([]);
  });

  it("README's project layout names only paths that exist", () => {
    const text = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = /^## Project layout\n([\s\S]*?)(?=^## )/m.exec(text)?.[1] ?? "";
    const paths = [...section.matchAll(/^\s*- `([^`]+)`/gm)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(3);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
    // …and every folder of the library is in it, so the section matches the tree.
    const folders = readdirSync(join(ROOT, "src/lib"), { withFileTypes: true }).filter((e) => e.isDirectory());
    expect(folders.map((e) => `src/lib/${e.name}/`).filter((f) => !paths.includes(f))).toEqual([]);
  });

  it.each(DOC_FILES)("%s: every relative link resolves, anchors included", (file) => {
    expect(linkProblems(docs.get(file)!)).toEqual([]);
  });

  it.each(DOC_FILES)("%s: every ```toml block is a config sqlbak accepts (or refuses, when marked invalid)", (file) => {
    const doc = docs.get(file)!;
    const problems = doc.fences
      .filter((f) => f.lang === "toml")
      .map((f) => [f, tomlProblem(f)] as const)
      .filter(([, p]) => p)
      .map(([f, p]) => `${file}:${f.line}: ${p}`);
    expect(problems).toEqual([]);
  });

  it.each(DOC_FILES)("%s: every `sqlbak <command> --flag` names a real command and flag", async (file) => {
    const tree = await flagTree();
    const doc = docs.get(file)!;
    const problems: string[] = [];
    for (const span of doc.spans)
      for (const p of commandProblems(span.text, tree)) problems.push(`${file}:${span.line}: ${p}`);
    for (const fence of doc.fences) {
      fence.body.split("\n").forEach((line, i) => {
        for (const p of commandProblems(line, tree)) problems.push(`${file}:${fence.line + 1 + i}: ${p}`);
      });
    }
    expect(problems).toEqual([]);
  });

  it("finds what it checks: links with anchors, toml blocks, one marked invalid, and command lines", async () => {
    const all = [...docs.values()];
    const toml = all.flatMap((d) => d.fences.filter((f) => f.lang === "toml"));
    expect(toml.length).toBeGreaterThanOrEqual(5);
    expect(toml.some((f) => f.marker === "invalid")).toBe(true);
    expect(all.some((d) => /\]\([a-z-]*\.md#[a-z]/.test(d.prose))).toBe(true);
    const tree = await flagTree();
    expect(commandProblems("sqlbak backup --rotate --pin", tree)).toEqual([]);
    expect(commandProblems("sqlbak backup --rotat", tree)).toEqual([
      '"sqlbak backup … --rotat": backup has no flag --rotat',
    ]);
    expect(commandProblems("sqlbak backupp app", tree)).toEqual(['"sqlbak backupp": no such command']);
    expect(commandProblems("stats --chek", tree)).toEqual(['"sqlbak stats … --chek": stats has no flag --chek']);
    expect(commandProblems("sqlbak list --json | jq --raw-output", tree)).toEqual([]);
    expect(
      commandProblems("sqlbak verify [--latest | --all | --random [N]] [--levels checksum|quick|full]", tree),
    ).toEqual(['"sqlbak verify … --levels": verify has no flag --levels']);
    expect(commandProblems("sqlbak verify [--latest|--all|--randm [N]]", tree)).toEqual([
      '"sqlbak verify … --randm": verify has no flag --randm',
    ]);
    const codeTexts = all.flatMap((d) => [
      ...d.spans.map((s) => s.text),
      ...d.fences.flatMap((f) => f.body.split("\n")),
    ]);
    const commandLines = codeTexts.filter((c) => /(?<![\w.@~-])sqlbak[ \t]+[a-z]/.test(c) && /--[a-z]/.test(c));
    expect(commandLines.length).toBeGreaterThan(25);
    expect(slugOf("Reading a destination: `--from NAME`")).toBe("reading-a-destination---from-name");
    expect([...anchorsOf(["SFTP", "SFTP", "How the snapshot works, and why"])]).toEqual([
      "sftp",
      "sftp-1",
      "how-the-snapshot-works-and-why",
    ]);
  });
});
