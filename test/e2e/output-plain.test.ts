/**
 * Failing commands print plain text when stderr is not a terminal or NO_COLOR
 * is set. Bug: citty's argument errors carried ANSI colour codes into cron
 * mail and log files (`Invalid value for argument: \x1b[36m--level\x1b[39m`).
 */
import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { TmuxSession } from "../helpers/tmux.ts";

const ESC = "\x1b";
// citty and consola both turn colour off for these; the user's own settings must not hide a leak.
const COLOUR_ON = {
  NO_COLOR: undefined,
  TEST: undefined,
  CI: undefined,
  TERM: "xterm-256color",
  FORCE_COLOR: undefined,
};

function failingCommands(dir: string): string[][] {
  writeFileSync(join(dir, "bad-enum.toml"), 'compression = "bogus"\n');
  writeFileSync(join(dir, "bad-toml.toml"), "compression = \n");
  return [
    ["verify", "--level", "bogus"],
    ["backup", "--kind", "bogus", "x.db"],
    ["list", "--config", "bad-enum.toml"],
    ["list", "--config", "bad-toml.toml"],
    ["list", "--bogus"],
    ["frobnicate"],
    ["restore", "app", "--at", "nonsense"],
    ["backup", join(dir, "missing.db"), "--backup-dir", join(dir, "b")],
    ["verify", "--level", "bogus", "--verbose"],
  ];
}

describe("colour on stderr", () => {
  it("has no escape codes when stderr is a pipe", async () => {
    const dir = tempDir();
    for (const args of failingCommands(dir)) {
      const r = await runCli(args, { cwd: dir, env: COLOUR_ON });
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toMatch(/\[error\]/);
      expect(r.stderr.includes(ESC) ? r.stderr : "no escape codes", args.join(" ")).toBe("no escape codes");
    }
  });

  it("has no escape codes on a terminal when NO_COLOR is set (to any value), and colours without it", async () => {
    const dir = tempDir();
    const screens: Record<string, string> = {};
    for (const noColor of ["true", ""]) {
      const tmux = new TmuxSession();
      try {
        const env = noColor ? `NO_COLOR=${noColor}` : "-u NO_COLOR";
        tmux.start(
          `cd '${dir}' && env -u TEST -u CI ${env} TERM=xterm-256color '${BIN}' verify --level bogus; ` +
            "echo DONE-$?; sleep 30",
        );
        await tmux.waitFor("DONE-2");
        screens[noColor || "unset"] = tmux.screenWithEscapes();
      } finally {
        tmux.kill();
      }
    }
    expect(screens.true).toContain("Invalid value for argument: --level (bogus)");
    expect(screens.true!.includes(ESC) ? screens.true : "no escape codes").toBe("no escape codes");
    // The capture does show colours: without NO_COLOR the terminal gets them.
    expect(screens.unset).toContain(ESC);
  });
});
