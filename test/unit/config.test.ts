import { describe, expect, it } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adHocDatabase, nameFromPath } from "../../src/lib/config/databases.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { resolveRetention } from "../../src/lib/config/retention.ts";
import { configProject as load, configProblems as problemsOf } from "../helpers/config.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("loadConfig validation", () => {
  it.each([
    ["unknown top-level key", `backup_dirs = "x"`, /backup_dirs: unknown key/],
    ["wrong type", `backup_dir = 3`, /backup_dir: expected a non-empty string, got a number/],
    ["bad compression", `compression = "lz4"`, /compression: "lz4" is not one of zstd \| gzip \| none/],
    ["bad check level", `check = "deep"`, /check: "deep" is not one of none \| quick \| full/],
    ["bad duration", `lock_timeout = "soon"`, /lock_timeout: "soon" is not a duration/],
    ["level out of range", `compression_level = 42`, /compression_level: expected a whole number from 1 to 19, got 42/],
    [
      "gzip level above 9",
      `compression = "gzip"\ncompression_level = 12`,
      /compression_level: level 12 is out of range for gzip \(1-9\)/,
    ],
    ["database not an array of tables", `database = "x"`, /database: expected \[\[database\]\] entries, got a string/],
    ["database without path", `[[database]]\nname = "a"`, /database\[0\]\.path: is required/],
    ["unknown database key", `[[database]]\npath = "a.db"\npaht = "b"`, /database\[0\]\.paht: unknown key/],
    [
      "name that escapes the folder",
      `[[database]]\nname = "../etc"\npath = "a.db"`,
      /database\[0\]\.name: "\.\.\/etc" is not a safe name/,
    ],
    ["name with a slash", `[[database]]\nname = "a/b"\npath = "a.db"`, /is not a safe name/],
    ["upper-case name", `[[database]]\nname = "App"\npath = "a.db"`, /is not a safe name/],
    [
      "probes not strings",
      `[[database]]\npath = "a.db"\nprobes = [1]`,
      /database\[0\]\.probes: expected an array of SQL strings/,
    ],
    [
      "duplicate names",
      `[[database]]\nname = "a"\npath = "a.db"\n[[database]]\nname = "a"\npath = "b.db"`,
      /database\[1\]\.name: "a" is already used by database\[0\]/,
    ],
    [
      "duplicate derived names",
      `[[database]]\npath = "x/app.db"\n[[database]]\npath = "y/app.db"`,
      /database\[1\]\.name: "app" is already used/,
    ],
    ["incremental as a string", `incremental = "yes"`, /^[^\n]*: incremental: expected true or false, got "yes"$/m],
    [
      "a per-database incremental as a number",
      `[[database]]\npath = "a.db"\nincremental = 1`,
      /^[^\n]*: database\[0\]\.incremental: expected true or false, got 1$/m,
    ],
    ["bad max_age", `max_age = "a while"`, /max_age: "a while" is not a duration/],
    [
      "bad per-database verify_max_age",
      `[[database]]\npath = "a.db"\nverify_max_age = "weekly"`,
      /database\[0\]\.verify_max_age: "weekly" is not a duration/,
    ],
    ["bad min_free_space", `min_free_space = "lots"`, /min_free_space: "lots" is not a size or percentage/],
    ["a percentage over 100", `min_free_space = "150%"`, /min_free_space: "150%" is not a size or percentage/],
    [
      "unknown notify event",
      `[notify]\non = ["failure", "sometimes"]`,
      /notify\.on: expected a list of success \| failure \| health/,
    ],
    [
      "a notify URL that is not http",
      `[notify]\nwebhook = "ftp://x"`,
      /notify\.webhook: "ftp:\/\/x" is not an http\(s\) URL/,
    ],
    ["unknown notify key", `[notify]\nemail = "a@b"`, /notify\.email: unknown key/],
    [
      "an empty database name",
      `[[database]]\nname = ""\npath = "a.db"`,
      /^[^\n]*database\[0\]\.name: must not be empty$/m,
    ],
    ["an empty backup_dir", `backup_dir = ""`, /^[^\n]*: backup_dir: must not be empty$/m],
    [
      "an empty destination path",
      `[[destination]]\nname = "nas"\ntype = "dir"\npath = ""`,
      /^[^\n]*destination\[0\]\.path: must not be empty$/m,
    ],
  ])("reports %s", (_what, toml, expected) => {
    const problems = problemsOf(toml);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join("\n")).toMatch(expected);
    expect(problems[0]).toContain("sqlbak.toml: ");
  });

  it("reports invalid TOML with its line and column", () => {
    expect(problemsOf(`check = "quick"\nbackup_dir = = "x"`)).toEqual([
      expect.stringMatching(/sqlbak\.toml:2:14: invalid TOML: Expected a value but found '='$/),
    ]);
  });

  it("collects every problem in one pass", () => {
    const problems = problemsOf(`compression = "lz4"\ncheck = "deep"\nfoo = 1\n[[database]]\nname = "../x"\n`);
    expect(problems).toHaveLength(5);
  });

  it("rejects a file that is not UTF-8", () => {
    expect(problemsOf(new Uint8Array([0x62, 0x3d, 0x22, 0xff, 0xfe, 0x22]))).toEqual([
      expect.stringMatching(/not valid UTF-8/),
    ]);
  });
});

describe("loadConfig resolution", () => {
  it("resolves relative paths against the config file's folder", () => {
    const { dir, config } = load(
      `backup_dir = "bk"\n[[database]]\nname = "app"\npath = "data/app.db"\nprobes = ["SELECT 1"]`,
    );
    const c = config();
    expect(c.file).toBe(join(dir, "sqlbak.toml"));
    expect(c.backupDir).toBe(join(dir, "bk"));
    expect(c.logFile).toBe(join(dir, "bk", "sqlbak.log.jsonl"));
    expect(c.databases).toEqual([
      {
        name: "app",
        path: join(dir, "data/app.db"),
        probes: ["SELECT 1"],
        check: "quick",
        snapshotMethod: "pages",
        incremental: true,
        preRestore: "keep",
        destinationRetention: {},
        compression: "zstd",
        compressionLevel: 3,
        maxAgeMs: 26 * 3_600_000,
        verifyMaxAgeMs: 8 * 86_400_000,
        retention: resolveRetention(),
      },
    ]);
  });

  it("resolves health thresholds and notifications", () => {
    const { dir, config } = load(
      `max_age = "2d"\nmin_free_space = "2GiB"\n[notify]\non = ["success"]\nntfy = "http://127.0.0.1:1/t"\n` +
        `ntfy_token_env = "TOKEN"\ntimeout = "3s"\n[[database]]\npath = "a.db"\nmax_age = "1h"`,
    );
    const c = loadConfig({}, { HOME: dir, TOKEN: "secret" }, dir);
    expect(c.maxAgeMs).toBe(2 * 86_400_000);
    expect(c.databases[0]!.maxAgeMs).toBe(3_600_000);
    expect(c.minFreeSpace).toEqual({ bytes: 2 * 1024 ** 3 });
    // The token stays the name of its variable: it is read only when something is sent.
    expect(c.notify).toEqual({
      channels: [
        { type: "ntfy", name: "ntfy", on: ["backup.success"], url: "http://127.0.0.1:1/t", tokenEnv: "TOKEN" },
      ],
      secretEnv: ["TOKEN"],
      timeoutMs: 3000,
    });
    expect(config().notify.channels[0]!.on).toEqual(["backup.success"]);
    // The default: failures and problems (and the all-clear after a problem).
    expect(load(`[notify]\nwebhook = "http://127.0.0.1:1/h"`).config().notify.channels[0]!.on).toEqual([
      "backup.failure",
      "copy.failure",
      "verify.failure",
      "health.problem",
      "health.recovered",
    ]);
    expect(load("").config().minFreeSpace).toEqual({ percent: 5 });
  });

  it("lets a database override check and compression", () => {
    const c = load(`compression_level = 5\n[[database]]\npath = "a.db"\ncheck = "full"\ncompression = "gzip"`).config();
    expect(c.databases[0]).toMatchObject({ name: "a", check: "full", compression: "gzip", compressionLevel: 6 });
    expect(c.compressionLevel).toBe(5);
  });

  it("resolves incremental: on by default, the global key, a database's own key over it", () => {
    expect(load(`[[database]]\npath = "a.db"`).config()).toMatchObject({
      incremental: true,
      databases: [{ incremental: true }],
    });
    const c = load(
      `incremental = false\n[[database]]\npath = "a.db"\n[[database]]\npath = "b.db"\nincremental = true`,
    ).config();
    expect(c.incremental).toBe(false);
    expect(c.databases.map((d) => d.incremental)).toEqual([false, true]);
    const only = load(`[[database]]\npath = "a.db"\nincremental = false\n[[database]]\npath = "b.db"`).config();
    expect(only.databases.map((d) => d.incremental)).toEqual([false, true]);
    expect(adHocDatabase(load(`incremental = false`).config(), "/x/other.db").incremental).toBe(false);
    expect(adHocDatabase(load("").config(), "/x/other.db").incremental).toBe(true);
  });

  it("collects an incremental of the wrong type with the other problems", () => {
    const problems = problemsOf(`incremental = "yes"\ncheck = "deep"\n[[database]]\npath = "a.db"\nincremental = "no"`);
    expect(problems).toHaveLength(3);
    expect(problems.join("\n")).toContain("database[0].incremental: expected true or false");
  });

  it("works with no config file at all", () => {
    const dir = tempDir();
    const c = loadConfig({}, { HOME: dir }, dir);
    expect(c.file).toBeNull();
    expect(c.backupDir).toBe(join(dir, "backups"));
    expect(c.compression).toBe("zstd");
    expect(c.databases).toEqual([]);
  });

  it("follows the lookup order: --config, then $SQLBAK_CONFIG, then ./sqlbak.toml, then XDG", () => {
    const dir = tempDir();
    const xdg = join(dir, "xdg");
    mkdirSync(join(xdg, "sqlbak"), { recursive: true });
    writeFileSync(join(xdg, "sqlbak", "config.toml"), `backup_dir = "from-xdg"`);
    expect(loadConfig({}, { HOME: dir, XDG_CONFIG_HOME: xdg }, dir).backupDir).toBe(join(xdg, "sqlbak", "from-xdg"));
    writeFileSync(join(dir, "sqlbak.toml"), `backup_dir = "from-cwd"`);
    expect(loadConfig({}, { HOME: dir, XDG_CONFIG_HOME: xdg }, dir).backupDir).toBe(join(dir, "from-cwd"));
    writeFileSync(join(dir, "env.toml"), `backup_dir = "from-env"`);
    const env = { HOME: dir, XDG_CONFIG_HOME: xdg, SQLBAK_CONFIG: join(dir, "env.toml") };
    expect(loadConfig({}, env, dir).backupDir).toBe(join(dir, "from-env"));
    writeFileSync(join(dir, "flag.toml"), `backup_dir = "from-flag"`);
    expect(loadConfig({ configPath: "flag.toml" }, env, dir).backupDir).toBe(join(dir, "from-flag"));
  });

  it("lets the environment and then flags override backup_dir", () => {
    const { dir, config } = load(`backup_dir = "bk"`);
    expect(loadConfig({}, { HOME: dir, SQLBAK_BACKUP_DIR: "/srv/env" }, dir).backupDir).toBe("/srv/env");
    expect(loadConfig({ backupDir: "cli" }, { HOME: dir, SQLBAK_BACKUP_DIR: "/srv/env" }, dir).backupDir).toBe(
      join(dir, "cli"),
    );
    expect(config().backupDir).toBe(join(dir, "bk"));
  });

  it("fails loudly when an explicitly named config file is missing", () => {
    const dir = tempDir();
    expect(() => loadConfig({ configPath: "nope.toml" }, { HOME: dir }, dir)).toThrow(
      /nope\.toml: config file not found/,
    );
    expect(() => loadConfig({}, { HOME: dir, SQLBAK_CONFIG: "/nonexistent/x.toml" }, dir)).toThrow(
      /config file not found/,
    );
  });

  it("loads the commented example config shipped in the repo", () => {
    const example = join(import.meta.dir, "../../sqlbak.example.toml");
    const c = loadConfig({ configPath: example }, { HOME: tempDir() }, tempDir());
    expect(c.databases.length).toBeGreaterThan(0);
  });
});

describe("ad-hoc databases", () => {
  it("derives safe names from file names", () => {
    expect(nameFromPath("/x/My App.db")).toBe("my-app");
    expect(nameFromPath("/x/.hidden.sqlite3")).toBe("hidden");
    expect(nameFromPath("/x/日本.db")).toBe("db");
  });

  it("refuses a path whose derived name belongs to another configured database", () => {
    const { dir, config } = load(`[[database]]\npath = "one/app.db"`);
    expect(() => adHocDatabase(config(), join(dir, "two/app.db"))).toThrow(/already uses that name/);
    expect(adHocDatabase(config(), join(dir, "one/app.db")).name).toBe("app");
  });
});
