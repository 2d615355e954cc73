/** discover.ts: the slug rule, the name template over a glob's wildcards, and what a glob or folder finds. */
import { describe, expect, it } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { belongsTo, discoveryProblems, findFiles, nameFor, slugName } from "../../src/lib/config/discover.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("slugName", () => {
  it.each([
    ["Acme Corp", "acme-corp"],
    ["BETA.Inc", "beta-inc"],
    ["Crème Brûlée", "creme-brulee"],
    ["__lead", "lead"],
    ["a--b..c", "a--b-c"],
    ["trailing.", "trailing"],
    ["x".repeat(70), "x".repeat(64)],
    [`${"a".repeat(63)}.b`, "a".repeat(63)],
    ["...", ""],
    ["日本", ""],
  ])("%p → %p", (text, slug) => {
    expect(slugName(text)).toBe(slug);
  });
});

describe("nameFor", () => {
  const base = "/cfg";
  it.each([
    [{ glob: "/srv/*/app.db" }, "/srv/Acme Corp/app.db", "acme-corp"],
    [{ glob: "/srv/*/*.db", name: "{2}-{1}" }, "/srv/eu/shop.db", "shop-eu"],
    [{ glob: "t/*/app.db" }, "/cfg/t/x/app.db", "x"],
    [{ glob: "/srv/**/app.db" }, "/srv/a/b/app.db", "a-b"],
    [{ glob: "/srv/db?.sqlite" }, "/srv/db7.sqlite", "7"],
    [{ glob: "/srv/[ab]*.db", name: "{1}{2}" }, "/srv/alpha.db", "alpha"],
    [{ folder: "/dbs" }, "/dbs/My App.sqlite3", "my-app"],
    [{ folder: "/dbs", name: "{parent}-{file}" }, "/dbs/x.db", "dbs-x-db"],
  ])("%p names %p %p", (src, path, name) => {
    expect(nameFor(src, base, path)).toBe(name);
  });
});

describe("discoveryProblems", () => {
  it("refuses placeholders the entry cannot fill, and braces in a glob", () => {
    expect(discoveryProblems({ glob: "/a/*.db", name: "{2}" })).toEqual([
      { key: "name", what: '"{2}" refers to wildcard 2, but the glob has 1' },
    ]);
    expect(discoveryProblems({ folder: "/a" })).toEqual([]);
    expect(discoveryProblems({ folder: "/a", name: "{1}" })[0]!.what).toContain("the glob has 0");
    expect(discoveryProblems({ glob: "/a/*.db", name: "{host}" })[0]!.what).toContain('unknown placeholder "{host}"');
    expect(discoveryProblems({ glob: "/a/{x,y}.db" })[0]!.key).toBe("glob");
  });
});

describe("findFiles", () => {
  it("finds what the glob matches, sorted, never SQLite's side files nor folders", () => {
    const dir = tempDir();
    for (const t of ["b", "a", "c"]) mkdirSync(join(dir, "t", t), { recursive: true });
    for (const f of ["t/a/app.db", "t/b/app.db", "t/a/app.db-wal", "t/b/app.db-journal", "t/c/other.db"])
      writeFileSync(join(dir, f), "");
    mkdirSync(join(dir, "t", "c", "app.db"));
    expect(findFiles({ glob: "t/*/app.db*" }, dir)).toEqual([join(dir, "t/a/app.db"), join(dir, "t/b/app.db")]);
    expect(findFiles({ glob: "/nonexistent-root/*/x.db" }, dir)).toEqual([]);
  });

  it("takes a folder's SQLite files by extension, directly in it, not hidden", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "sub"));
    for (const f of ["a.db", "b.SQLITE", "c.sqlite3", "d.db3", "e.txt", ".hidden.db", "a.db-wal", "sub/f.db"])
      writeFileSync(join(dir, f), "");
    expect(findFiles({ folder: "." }, dir)).toEqual(
      ["a.db", "b.SQLITE", "c.sqlite3", "d.db3"].map((f) => join(dir, f)),
    );
    expect(findFiles({ folder: "missing" }, dir)).toEqual([]);
  });
});

describe("belongsTo", () => {
  it("is true only for a source the entry matches and names as the folder", () => {
    const src = { glob: "/srv/*/app.db" };
    expect(belongsTo(src, "/", "acme", "/srv/Acme/app.db")).toBe(true);
    expect(belongsTo(src, "/", "other", "/srv/Acme/app.db")).toBe(false);
    expect(belongsTo(src, "/", "acme", "/elsewhere/acme/app.db")).toBe(false);
    expect(belongsTo({ folder: "/dbs" }, "/", "x", "/dbs/x.db")).toBe(true);
    expect(belongsTo({ folder: "/dbs" }, "/", "x", "/dbs/sub/x.db")).toBe(false);
  });
});
