/**
 * `[[database]]` entries that discover their files (docs/configuration.md,
 * "Fleets"): `glob = "/srv/tenants/*\/app.db"` or `folder = "/srv/dbs"`, each
 * file found becoming one database named by the entry's `name` template,
 * slugged to fit the database-name pattern. Expansion happens at config load,
 * so every command sees the same databases; a run picks up new files as it
 * starts. Nothing here writes.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, resolve, sep } from "node:path";
import { DATABASE_NAME_RE } from "../model/index.ts";

/** What `folder =` counts as a SQLite file: the extensions SQLite tools and frameworks use. */
export const FOLDER_EXTENSIONS = [".db", ".sqlite", ".sqlite3", ".db3"];
/** SQLite's own side files: never a database of their own, whatever the pattern says. */
const SIDE_FILE_RE = /-(wal|shm|journal)$/;

/** A discovering entry, as written (paths relative to the config file's folder). */
export interface DiscoverySource {
  glob?: string;
  folder?: string;
  /** Name template: `{1}`…`{9}` (the glob's wildcards), `{stem}`, `{file}`, `{parent}`; other text as written. */
  name?: string;
}

export interface DiscoveredFile {
  path: string;
  name: string;
}

/** The default template: a glob names by its first wildcard, a folder by the file name without extension. */
export function defaultTemplate(src: DiscoverySource): string {
  return src.glob !== undefined ? "{1}" : "{stem}";
}

/**
 * Makes any text a database name, deterministically: accents dropped (é → e),
 * lowercase, each run of other characters one `-`, no leading `-`/`_` nor
 * trailing `-`, at most 64 characters. Returns "" when nothing is left.
 */
export function slugName(text: string): string {
  const ascii = text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  const slug = ascii
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "")
    .slice(0, 64)
    .replace(/-+$/, "");
  return DATABASE_NAME_RE.test(slug) ? slug : "";
}

/** Problems with a glob or template as written, each under its key (empty when usable). */
export function discoveryProblems(src: DiscoverySource): { key: string; what: string }[] {
  const out: { key: string; what: string }[] = [];
  if (src.glob !== undefined && /[{}]/.test(src.glob))
    out.push({ key: "glob", what: `"${src.glob}": braces are not supported (use one entry per alternative)` });
  const template = src.name ?? defaultTemplate(src);
  const wildcards = src.glob !== undefined ? wildcardCount(src.glob) : 0;
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    const key = m[1]!;
    if (/^[1-9]$/.test(key)) {
      if (Number(key) > wildcards)
        out.push({ key: "name", what: `"{${key}}" refers to wildcard ${key}, but the glob has ${wildcards}` });
    } else if (!["stem", "file", "parent"].includes(key)) {
      out.push({ key: "name", what: `unknown placeholder "{${key}}" (use {1}…{9}, {stem}, {file} or {parent})` });
    }
  }
  return out;
}

/** Wildcards a glob has, each one capture: `**`, `*`, `?` and `[...]`, left to right. */
function wildcardCount(glob: string): number {
  return (glob.match(/\*\*|\*|\?|\[[^\]]*\]/g) ?? []).length;
}

/** The glob as an anchored regular expression with one group per wildcard. */
function globRegex(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === "*" && glob[i + 1] === "*") {
      // `**/` matches zero or more folders; a bare `**` anything.
      if (glob[i + 2] === "/") {
        re += "((?:[^/]+/)*)";
        i += 2;
      } else {
        re += "(.*)";
        i += 1;
      }
    } else if (ch === "*") re += "([^/]*)";
    else if (ch === "?") re += "([^/])";
    else if (ch === "[") {
      const end = glob.indexOf("]", i + 1);
      const body = glob.slice(i + 1, end).replace(/^!/, "^");
      re += `([${body.replace(/\\/g, "\\\\")}])`;
      i = end;
    } else re += ch.replace(/[.+^$()|\\{}]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** The folder a glob's matches all lie under: its segments before the first wildcard. */
function fixedRoot(glob: string): string {
  const parts = glob.split("/");
  const firstWild = parts.findIndex((p) => /[*?[]/.test(p));
  return parts.slice(0, firstWild < 0 ? parts.length - 1 : firstWild).join("/") || "/";
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The files an entry finds now, sorted; a folder or glob root that does not exist finds none. */
export function findFiles(src: DiscoverySource, baseDir: string): string[] {
  if (src.folder !== undefined) {
    const dir = resolve(baseDir, src.folder);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => !n.startsWith(".") && FOLDER_EXTENSIONS.includes(extname(n).toLowerCase()))
      .map((n) => join(dir, n))
      .filter(isFile)
      .sort();
  }
  const abs = absoluteGlob(src.glob!, baseDir);
  const root = fixedRoot(abs);
  const rest = abs.slice(root === "/" ? 1 : root.length + 1);
  let found: string[];
  try {
    found = [...new Bun.Glob(rest).scanSync({ cwd: root, onlyFiles: true, absolute: true, followSymlinks: true })];
  } catch {
    return [];
  }
  const re = globRegex(abs);
  return found
    .map((p) => resolve(p))
    .filter((p) => re.test(p) && !SIDE_FILE_RE.test(p) && isFile(p))
    .sort();
}

function absoluteGlob(glob: string, baseDir: string): string {
  const abs = isAbsolute(glob) ? glob : join(baseDir, glob);
  return sep === "/" ? abs : abs.split(sep).join("/");
}

/** The database name the entry's template gives `path` (already slugged); "" when nothing usable is left. */
export function nameFor(src: DiscoverySource, baseDir: string, path: string): string {
  const captures = src.glob !== undefined ? (globRegex(absoluteGlob(src.glob, baseDir)).exec(path) ?? []) : [];
  const file = basename(path);
  const text = (src.name ?? defaultTemplate(src)).replace(/\{([^}]*)\}/g, (_, key: string) => {
    if (key === "stem") return basename(file, extname(file));
    if (key === "file") return file;
    if (key === "parent") return basename(dirname(path));
    // `**` captures end in "/"; the slug turns inner ones into "-".
    return captures[Number(key)] ?? "";
  });
  return slugName(text);
}

/**
 * The files an entry discovers now, each with its name. Given the entry and
 * the config's folder, return them sorted by path, or push a problem naming
 * the path for a file whose name slugs to nothing.
 */
export function discoverDatabases(
  src: DiscoverySource,
  baseDir: string,
  key: string,
  problems: string[],
): DiscoveredFile[] {
  const out: DiscoveredFile[] = [];
  for (const path of findFiles(src, baseDir)) {
    const name = nameFor(src, baseDir, path);
    if (name) out.push({ path, name });
    else problems.push(`${key}: ${path} gives no usable database name (set name = "..." with other placeholders)`);
  }
  return out;
}

/**
 * Whether a backup folder `name` whose backups came from `source` belongs to
 * the entry: the source matches its glob or folder, and the entry names it
 * `name`. This is how a database that vanished keeps its entry's retention.
 */
export function belongsTo(src: DiscoverySource, baseDir: string, name: string, source: string): boolean {
  if (src.folder !== undefined) {
    if (dirname(source) !== resolve(baseDir, src.folder)) return false;
    if (!FOLDER_EXTENSIONS.includes(extname(source).toLowerCase())) return false;
  } else if (!globRegex(absoluteGlob(src.glob!, baseDir)).test(source)) return false;
  return nameFor(src, baseDir, source) === name;
}
