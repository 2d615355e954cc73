/** [hooks] and [database.hooks]: the default timeout, a database's commands over the global ones, every problem at once. */
import { describe, expect, it } from "bun:test";
import { ConfigError } from "../../src/lib/model/errors.ts";
import { configProject } from "../helpers/config.ts";

const load = (toml: string) => configProject(toml).config();

function problems(toml: string): string[] {
  try {
    load(toml);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map((p) => p.replace(/^.*sqlbak\.toml: /, ""));
  }
  throw new Error("the config loaded");
}

describe("[hooks]", () => {
  it("has a 5 minute timeout and no commands by default; a database without hooks has none", () => {
    const c = load('[[database]]\nname = "app"\npath = "app.db"\n');
    expect(c.hooks).toEqual({ timeoutMs: 300_000, env: [], global: {} });
    expect(c.databases[0]!.hooks).toBeUndefined();
  });

  it("gives each database the global commands, its own replacing them event by event", () => {
    const c = load(
      '[hooks]\nbefore_backup = "g-before"\non_error = "g-error"\ntimeout = "30s"\nenv = ["APP_SERVICE"]\n' +
        '[[database]]\nname = "app"\npath = "app.db"\n[database.hooks]\non_error = "app-error"\nafter_backup = "app-after"\n' +
        '[[database]]\nname = "other"\npath = "other.db"\n',
    );
    expect(c.hooks).toMatchObject({ timeoutMs: 30_000, env: ["APP_SERVICE"] });
    expect(c.databases.map((d) => [d.name, d.hooks])).toEqual([
      ["app", { before_backup: "g-before", on_error: "app-error", after_backup: "app-after" }],
      ["other", { before_backup: "g-before", on_error: "g-error" }],
    ]);
  });

  it("reports every bad key with its key path", () => {
    expect(
      problems(
        '[hooks]\nbefore_backup = ""\nafter_backup = 3\ntimeout = "soon"\nenv = ["not a name"]\nbefore = "x"\n' +
          '[[database]]\nname = "app"\npath = "app.db"\n[database.hooks]\ntimeout = "1m"\non_error = ["x"]\n',
      ),
    ).toEqual([
      "hooks.before: unknown key (allowed here: before_backup, after_backup, on_error, timeout, env)",
      "hooks.before_backup: expected a shell command (a non-empty string)",
      "hooks.after_backup: expected a shell command (a non-empty string)",
      expect.stringMatching(/^hooks\.timeout: /),
      'hooks.env: expected a list of environment variable names, e.g. ["APP_SERVICE"]',
      "database[0].hooks.timeout: unknown key (allowed here: before_backup, after_backup, on_error)",
      "database[0].hooks.on_error: expected a shell command (a non-empty string)",
    ]);
  });

  it("refuses hooks.env naming an AWS_* variable", () => {
    expect(problems('[hooks]\nenv = ["AWS_SECRET_ACCESS_KEY"]\n')).toEqual([
      'hooks.env: "AWS_SECRET_ACCESS_KEY" is an AWS_* variable (credentials); the command never gets those',
    ]);
  });
});
