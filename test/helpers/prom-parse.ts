/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests
 * where promtool is not installed and as a second opinion where it is. It
 * throws on the first violation, naming the line: a bad metric or label name,
 * a label value with a bad escape or an unterminated quote, a sample without
 * (or before) its family's HELP and TYPE, a family split in two, HELP or TYPE
 * given twice, a duplicate series, a value or timestamp that does not parse,
 * or text that does not end with a newline. It is stricter than Prometheus in
 * one way: every family must have HELP and TYPE (sqlbak always writes both).
 */

export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  help: string;
  type: string;
  samples: PromSample[];
}

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = ["counter", "gauge", "histogram", "summary", "untyped"];
const FLOAT_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SUFFIXES = ["_sum", "_count", "_bucket"];

function parseValue(text: string, where: string): number {
  if (text === "NaN") return Number.NaN;
  if (/^[+-]?Inf$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (!FLOAT_RE.test(text)) throw new Error(`${where}: value "${text}" is not a number`);
  return Number(text);
}

/** Reads `{a="x",b="y"}` from `line` at `start` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (true) {
    if (line[i] === "}") return { labels, end: i + 1 };
    const eq = line.indexOf("=", i);
    if (eq < 0) throw new Error(`${where}: label without "="`);
    const name = line.slice(i, eq);
    if (!LABEL_NAME_RE.test(name)) throw new Error(`${where}: bad label name "${name}"`);
    if (name.startsWith("__")) throw new Error(`${where}: label name "${name}" is reserved`);
    if (name in labels) throw new Error(`${where}: label "${name}" given twice`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: value of label "${name}" is not quoted`);
    let value = "";
    let j = eq + 2;
    for (; ; j++) {
      const c = line[j];
      if (c === undefined) throw new Error(`${where}: unterminated value of label "${name}"`);
      if (c === '"') break;
      if (c === "\\") {
        const e = line[++j];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new Error(`${where}: bad escape "\\${e ?? ""}" in label "${name}"`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ",") i++;
    else if (line[i] !== "}") throw new Error(`${where}: expected "," or "}" after label "${name}"`);
  }
}

function familyOf(sampleName: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const direct = families.get(sampleName);
  if (direct) return direct;
  for (const s of SUFFIXES) {
    if (!sampleName.endsWith(s)) continue;
    const f = families.get(sampleName.slice(0, -s.length));
    if (f && (f.type === "histogram" || f.type === "summary")) return f;
  }
  return undefined;
}

/** Parses `text` strictly; returns the families by name, in order of appearance. */
export function parseExposition(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the text does not end with a newline");
  const families = new Map<string, PromFamily>();
  const pending = new Map<string, { help?: string; type?: string }>();
  const series = new Set<string>();
  const closed = new Set<string>();
  let current: string | null = null;
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ""] = m;
      if (!METRIC_NAME_RE.test(name!)) throw new Error(`${where}: bad metric name "${name}"`);
      if (families.has(name!)) throw new Error(`${where}: ${kind} of ${name} after its samples`);
      const p = pending.get(name!) ?? {};
      if (kind === "HELP") {
        if (p.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        if (/\\(?![\\n])/.test(rest)) throw new Error(`${where}: bad escape in HELP of ${name}`);
        p.help = rest.replace(/\\(\\|n)/g, (_, e) => (e === "n" ? "\n" : "\\"));
      } else {
        if (p.type !== undefined) throw new Error(`${where}: second TYPE for ${name}`);
        if (!TYPES.includes(rest)) throw new Error(`${where}: unknown TYPE "${rest}" for ${name}`);
        p.type = rest;
      }
      pending.set(name!, p);
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`${where}: not a sample: ${JSON.stringify(line)}`);
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME_RE.test(name)) throw new Error(`${where}: bad metric name "${name}"`);
    let rest = nameEnd;
    let labels: Record<string, string> = {};
    if (line[nameEnd] === "{") ({ labels, end: rest } = parseLabels(line, nameEnd, where));
    if (line[rest] !== " ") throw new Error(`${where}: expected a space before the value`);
    const parts = line.slice(rest + 1).split(" ");
    if (parts.length > 2 || parts[0] === "") throw new Error(`${where}: expected a value and an optional timestamp`);
    const value = parseValue(parts[0]!, where);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp "${parts[1]}"`);
    let family = familyOf(name, families);
    if (!family) {
      const p = pending.get(name);
      if (p?.type === undefined || p.help === undefined)
        throw new Error(`${where}: sample of ${name} without HELP and TYPE before it`);
      family = { name, help: p.help, type: p.type, samples: [] };
      pending.delete(name);
      families.set(name, family);
    }
    if (current !== family.name) {
      if (closed.has(family.name)) throw new Error(`${where}: samples of ${family.name} are not together`);
      if (current) closed.add(current);
      current = family.name;
    }
    const key = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(",")}}`;
    if (series.has(key)) throw new Error(`${where}: duplicate series ${key}`);
    series.add(key);
    family.samples.push({ labels, value });
  });
  const orphan = [...pending.keys()][0];
  if (orphan) throw new Error(`HELP/TYPE for ${orphan} without any sample`);
  return families;
}

/** The one sample of `name` whose labels include `labels`; throws when there is none or several. */
export function sampleValue(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const f = families.get(name);
  if (!f) throw new Error(`no family ${name}`);
  const hits = f.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return hits[0]!.value;
}
