/** The man page: the committed file equals the generator's output, groff renders it cleanly, install.sh installs it. */
import { describe, expect, it } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { manPageInput } from "../../man/input.ts";
import { loadCommandDefs } from "../../src/commands/_command-tree.ts";
import { commands } from "../../src/commands/index.ts";
import { renderManPage } from "../../src/lib/output/index.ts";
import { cleanEnv } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const ROOT = join(import.meta.dir, "../..");
const PAGE = join(ROOT, "man/sqlbak.1");
const have = (cmd: string) => Bun.which(cmd) !== null;

/** The page as man shows it, as plain text. */
function rendered(): { text: string; warnings: string } {
  const p = Bun.spawnSync(["groff", "-man", "-Tutf8", "-ww", "-P", "-cbou", PAGE], {
    env: { ...process.env, LC_ALL: "C.UTF-8" },
  });
  return { text: p.stdout.toString(), warnings: p.stderr.toString() };
}

describe("man page", () => {
  it("man/sqlbak.1 matches the generator (run `bun run man` if not)", async () => {
    expect(readFileSync(PAGE, "utf8")).toBe(renderManPage(await manPageInput()));
  });

  it.skipIf(!have("groff"))("groff renders it without warnings, with every command and flag", async () => {
    const { text, warnings } = rendered();
    expect(warnings).toBe("");
    expect(text).toContain("EXIT STATUS");
    for (const cmd of await loadCommandDefs(commands)) {
      expect(text).toContain(`sqlbak ${cmd.name} [options]`);
      for (const [flag, def] of Object.entries(cmd.args))
        if (def.type !== "positional") expect(text).toContain(`--${flag}`);
    }
  });

  it.skipIf(!have("man"))(
    "install.sh installs it where man finds it through PATH, and --uninstall removes it",
    () => {
      const home = tempDir();
      const bin = join(home, "prefix/bin");
      const env = cleanEnv({ PATH: `${bin}:${process.env.PATH}`, MANPATH: undefined, XDG_DATA_HOME: undefined }, home);
      const install = Bun.spawnSync(["bash", join(ROOT, "install.sh"), "--prefix", bin], { env, cwd: home });
      expect(install.stderr.toString()).toContain("installed the man page");
      expect(install.exitCode).toBe(0);
      const installed = join(home, "prefix/share/man/man1/sqlbak.1");
      expect(readFileSync(installed, "utf8")).toBe(readFileSync(PAGE, "utf8"));
      const where = Bun.spawnSync(["man", "-w", "sqlbak"], { env, cwd: home });
      expect(where.stdout.toString().trim()).toBe(installed);
      const shown = Bun.spawnSync(["man", "sqlbak"], { env: { ...env, MANPAGER: "cat", MANWIDTH: "80" }, cwd: home });
      expect(shown.stdout.toString()).toContain("sqlbak install-schedule [options]");
      const un = Bun.spawnSync(["bash", join(ROOT, "install.sh"), "--uninstall", "--prefix", bin], { env, cwd: home });
      expect(un.exitCode).toBe(0);
      expect(existsSync(installed)).toBe(false);
    },
    180_000,
  );
});
