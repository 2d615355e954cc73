/**
 * Progress lines (docs/commands.md#progress) through the compiled binary: drawn on a terminal for
 * the copies to a dir destination after a backup, verify (local and --from) and restore (local
 * and --from), for an incremental ("app") and a single-file ("legacy") database; never when
 * stderr is a file, and never with --json or --quiet. Each database holds 70 MiB of random
 * pages, above the 64 MiB from which a step's progress is drawn at once, and incompressible, so
 * its copies are that large too. Everything the terminal receives is recorded (tmux pipe-pane),
 * erased progress lines included.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAppDatabase, makeProject } from "../helpers/backups.ts";
import { BIN } from "../helpers/run-cli.ts";
import { TmuxSession } from "../helpers/tmux.ts";

const MIB = 1024 * 1024;
/** A progress line as `_progress.ts` draws it: erase the line, then `<label>: <pct>% of <size>`. */
const PROGRESS = /\x1b\[2K[^\r\n]*: \d+% of [\d.]+ MiB/;

let session: TmuxSession | null = null;
afterEach(() => {
  session?.kill();
  session = null;
});

/** "app" (incremental, the default) and "legacy" (one file per backup), 70 MiB each, with dir destination "nas". */
function project() {
  const p = makeProject({ rows: 70, payloadBytes: MIB, toml: "" });
  createAppDatabase(join(p.dir, "legacy.db"), 70, MIB);
  writeFileSync(
    join(p.dir, "sqlbak.toml"),
    `${readFileSync(join(p.dir, "sqlbak.toml"), "utf8")}\n` +
      '[[database]]\nname = "legacy"\npath = "legacy.db"\nincremental = false\n\n' +
      '[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n',
  );
  Bun.spawnSync(["mkdir", join(p.dir, "nas")]);
  return p;
}

/**
 * Runs each named sqlbak command line in turn in one terminal (with `redirect` appended to each),
 * recording all it receives; returns what each one drew, its exit code, and the last screen.
 */
async function runOnTerminal(dir: string, steps: [string, string][], redirect = "") {
  session?.kill();
  const s = new TmuxSession();
  session = s;
  const log = join(dir, `terminal-${s.socket}.log`);
  const env = `env -i PATH="$PATH" HOME='${dir}' TERM=xterm-256color`;
  const lines = steps.map(([name, args]) => `${env} '${BIN}' ${args} ${redirect}; echo "@@END ${name} $?@@"`);
  s.startRecorded(`cd '${dir}' && ${lines.join("; ")}; echo @@ALL-DONE@@; sleep 60`, log);
  const read = () => (existsSync(log) ? readFileSync(log, "utf8") : "");
  const deadline = Date.now() + 90_000;
  while (!read().includes("@@ALL-DONE@@")) {
    if (Date.now() > deadline) throw new Error(`commands did not finish; terminal so far:\n${read()}`);
    await Bun.sleep(100);
  }
  const out: Record<string, { drawn: string; code: number }> = {};
  let rest = read();
  for (const [name] of steps) {
    const m = new RegExp(`@@END ${name} (\\d+)@@`).exec(rest)!;
    out[name] = { drawn: rest.slice(0, m.index), code: Number(m[1]) };
    rest = rest.slice(m.index + m[0].length);
  }
  return { out, screen: s.screen() };
}

const STEPS: [string, string][] = [
  ["backup", "backup"],
  ["verify-app", "verify app"],
  ["verify-legacy", "verify legacy --level full"],
  ["verify-checksum", "verify legacy --level checksum"],
  ["verify-from", "verify app --from nas"],
  ["restore-app", "restore app --latest --to restored-app.db --yes"],
  ["restore-legacy", "restore legacy --latest --yes --pre-restore backup"],
  ["restore-from", "restore legacy --from nas --latest --to restored-legacy.db --yes"],
];

describe("progress on a terminal", () => {
  it("is drawn for copies to a destination, verify and restore, and erased once each is done", async () => {
    const p = project();
    const { out, screen } = await runOnTerminal(p.dir, STEPS);
    for (const [name] of STEPS) expect(out[name]!.code, `${name}: ${out[name]!.drawn}`).toBe(0);
    const drew = (name: string, label: RegExp) => {
      const lines = out[name]!.drawn.split(/\r|\x1b\[2K/).filter((l) => label.test(l));
      expect(lines.length, `${name} drew no ${label}; it wrote:\n${out[name]!.drawn}`).toBeGreaterThan(0);
      expect(lines.at(-1)).toMatch(/: 100% of 7\d MiB$/);
    };
    drew("backup", /^app → nas: copying app-\S+: \d+% of/);
    drew("backup", /^legacy → nas: copying legacy-\S+: \d+% of/);
    drew("verify-app", /^app: verifying app-\S+ \(reassembling\): \d+% of/);
    // quick and full hash the stored bytes in the decompression pass; only --level checksum has a pass of its own.
    drew("verify-checksum", /^legacy: verifying legacy-\S+ \(checksum\): \d+% of/);
    drew("verify-legacy", /^legacy: verifying legacy-\S+ \(decompressing\): \d+% of/);
    drew("verify-from", /^app: downloading app-\S+ from nas: \d+% of/);
    drew("verify-from", /^app: verifying app-\S+ \(reassembling\): \d+% of/);
    drew("restore-app", /^app: restoring app-\S+ \(reassembling\): \d+% of/);
    drew("restore-legacy", /^legacy: restoring legacy-\S+ \(decompressing\): \d+% of/);
    drew("restore-legacy", /^legacy: pre-restore backup: \d+% of/);
    drew("restore-from", /^legacy: downloading legacy-\S+ from nas: \d+% of/);
    drew("restore-from", /^legacy: restoring legacy-\S+ \(decompressing\): \d+% of/);
    // Erased before each result line: what stays on the screen is the results.
    expect(screen).not.toMatch(/\d+% of/);
    expect(screen).toContain("restored legacy-");
  }, 180_000);

  it("is never drawn when stderr is a file, nor with --json or --quiet on the terminal", async () => {
    const p = project();
    const toFile = await runOnTerminal(p.dir, STEPS, "2>>stderr.log");
    for (const [name] of STEPS) expect(toFile.out[name]!.code, name).toBe(0);
    const stderr = readFileSync(join(p.dir, "stderr.log"), "utf8");
    expect(stderr).toContain("restored legacy-"); // the results went there
    for (const text of [stderr, ...Object.values(toFile.out).map((o) => o.drawn)]) {
      expect(PROGRESS.test(text) ? text : "no progress").toBe("no progress");
      expect(/% of|\x1b\[2K/.test(text) ? text : "no progress").toBe("no progress");
    }
    const quiet: [string, string][] = [
      ["verify-json", "verify app --json"],
      ["verify-quiet", "verify legacy --quiet"],
      ["restore-json", "restore app --latest --to r1.db --yes --json"],
      ["restore-quiet", "restore legacy --from nas --latest --to r2.db --yes --quiet"],
    ];
    const flags = await runOnTerminal(p.dir, quiet);
    for (const [name] of quiet) {
      expect(flags.out[name]!.code, name).toBe(0);
      const drawn = flags.out[name]!.drawn;
      expect(/% of|\x1b\[2K/.test(drawn) ? drawn : "no progress").toBe("no progress");
    }
  }, 180_000);
});
