/** Shell completions: the committed files equal the generator's output, and each shell accepts its script. */
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCommandTree } from "../../src/commands/_command-tree.ts";
import { COMMAND_NAMES, commands } from "../../src/commands/index.ts";
import { renderCompletion, SHELLS } from "../../src/lib/output/completion.ts";
import { runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const COMPLETIONS = join(import.meta.dir, "../../completions");
const committed = (shell: string) => readFileSync(join(COMPLETIONS, `sqlbak.${shell}`), "utf8");
const have = (cmd: string) => Bun.which(cmd) !== null;

/** Runs bash's completion function as readline would for `line` (cursor at the end) and returns the candidates. */
function complete(line: string): string[] {
  const script = `source ${JSON.stringify(join(COMPLETIONS, "sqlbak.bash"))}
COMP_LINE=${JSON.stringify(line)}; read -ra COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _sqlbak; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const proc = Bun.spawnSync(["bash", "-c", script], { cwd: tempDir() });
  return proc.stdout.toString().split("\n").filter(Boolean);
}

describe("completions", () => {
  it.each([...SHELLS])(
    "completions/sqlbak.%s matches the generator (run `bun run completions` if not)",
    async (shell) => {
      expect(committed(shell)).toBe(renderCompletion(shell, await loadCommandTree(commands)));
    },
  );

  it("`sqlbak completion bash` prints the committed script", async () => {
    const r = await runCli(["completion", "bash"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(committed("bash"));
    const bad = await runCli(["completion", "tcsh"]);
    expect(bad.code).toBe(2);
  });

  it("bash parses and sources the script, and completes commands, flags and values", () => {
    expect(Bun.spawnSync(["bash", "-n", join(COMPLETIONS, "sqlbak.bash")]).exitCode).toBe(0);
    const p = Bun.spawnSync([
      "bash",
      "-c",
      `source ${JSON.stringify(join(COMPLETIONS, "sqlbak.bash"))} && complete -p sqlbak`,
    ]);
    expect(p.stdout.toString().trim()).toBe("complete -F _sqlbak sqlbak");
    expect(complete("sqlbak ").sort()).toEqual([...COMMAND_NAMES, "--help", "--version"].sort());
    expect(complete("sqlbak install-schedule --pl")).toEqual(["--platform"]);
    expect(complete("sqlbak install-schedule --platform ")).toEqual(["cron", "systemd", "launchd", "windows"]);
    expect(complete("sqlbak completion ")).toEqual(["bash", "zsh", "fish"]);
    expect(complete("sqlbak backup --kind s")).toEqual(["scheduled"]);
  });

  it.skipIf(!have("zsh"))("zsh parses the script and loads it with compinit", () => {
    expect(Bun.spawnSync(["zsh", "-n", join(COMPLETIONS, "sqlbak.zsh")]).stderr.toString()).toBe("");
    const dir = tempDir();
    writeFileSync(join(dir, "_sqlbak"), committed("zsh"));
    const p = Bun.spawnSync([
      "zsh",
      "-fc",
      `fpath=(${dir} $fpath); autoload -Uz compinit; compinit -u -d ${dir}/dump; print -r -- $_comps[sqlbak]`,
    ]);
    expect(p.stdout.toString().trim()).toBe("_sqlbak");
  });
  if (!have("zsh")) console.warn("skipped zsh completion check: zsh not installed");

  it.skipIf(!have("fish"))("fish parses the script and completes subcommands", () => {
    expect(Bun.spawnSync(["fish", "-n", join(COMPLETIONS, "sqlbak.fish")]).stderr.toString()).toBe("");
    const p = Bun.spawnSync([
      "fish",
      "--no-config",
      "-c",
      `source ${join(COMPLETIONS, "sqlbak.fish")}; complete -C 'sqlbak install-schedule --platform '`,
    ]);
    expect(
      p.stdout
        .toString()
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t")[0])
        .sort(),
    ).toEqual(["cron", "launchd", "systemd", "windows"]);
  });
  if (!have("fish")) console.warn("skipped fish completion check: fish not installed");
});
