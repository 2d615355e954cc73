/**
 * `stats --prometheus` and `metrics_file` through the compiled binary on real
 * databases, checked with the strict parser of test/helpers/prom-parse.ts and,
 * where installed, with promtool; and the shipped alert rules and Grafana
 * dashboard checked against the names sqlbak really emits.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { flipByte } from "../helpers/backups.ts";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { type PromFamily, parseExposition, sampleValue } from "../helpers/prom-parse.ts";
import { runCli } from "../helpers/run-cli.ts";
import { freePort } from "../helpers/sshd.ts";
import { tempDir } from "../helpers/tmp.ts";
import { AS_NOBODY } from "../helpers/unprivileged.ts";

const ROOT = join(import.meta.dir, "..", "..");
const PROMTOOL = Bun.which("promtool");
/** Debian's prometheus package recommends prometheus-node-exporter, so --test-deps brings it along. */
const NODE_EXPORTER = Bun.which("prometheus-node-exporter") ?? Bun.which("node_exporter");
const RULES = join(ROOT, "docs/prometheus/alerts.yml");

function setup(toml: string, names = ["app"], dir = tempDir()): string {
  let dbs = "";
  for (const n of names) {
    makeDatabase(join(dir, `${n}.db`), { rows: 50 });
    dbs += `[[database]]\nname = "${n}"\npath = "${n}.db"\n`;
  }
  writeFileSync(join(dir, "sqlbak.toml"), `${toml}\n${dbs}`);
  return dir;
}

async function ok(dir: string, ...args: string[]) {
  const r = await runCli(args, { cwd: dir });
  expect([r.code, r.stderr]).toEqual([0, expect.any(String)]);
  return r;
}

function promtool(...args: string[]): { code: number; output: string } {
  const r = Bun.spawnSync([PROMTOOL!, ...args], { cwd: ROOT });
  return { code: r.exitCode, output: r.stdout.toString() + r.stderr.toString() };
}

/** promtool check metrics reads stdin; it prints nothing for a clean exposition. */
function promtoolCheckMetrics(text: string): { code: number; output: string } {
  const file = join(tempDir(), "check.prom");
  writeFileSync(file, text);
  const r = Bun.spawnSync([PROMTOOL!, "check", "metrics"], { stdin: Bun.file(file) });
  return { code: r.exitCode, output: r.stdout.toString() + r.stderr.toString() };
}

/** The metric names a PromQL expression reads (functions, keywords, labels and durations left out). */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const keywords = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);
  return [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?![a-zA-Z0-9_:]|\s*\()/g)]
    .map((m) => m[0])
    .filter((w) => !keywords.has(w.toLowerCase()) && !/^\d/.test(w));
}

describe("sqlbak stats --prometheus", () => {
  let dir: string;
  let text: string;
  let families: Map<string, PromFamily>;
  let appCreatedAt: string;

  // One setup for the whole block (tempDir() folders go after each test): removed in afterAll.
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    dir = setup(
      'backup_dir = "backups"\n[[destination]]\nname = "usb"\ntype = "dir"\npath = "usb"\n' +
        '[[destination]]\nname = "later"\ntype = "dir"\npath = "later"\n',
      ["app", "shop"],
      mkdtempSync(join(tmpdir(), "sqlbak-prom-")),
    );
    mkdirSync(join(dir, "usb"));
    const b = parseJson((await runCli(["backup", "--json"], { cwd: dir })).stdout).results;
    appCreatedAt = JSON.parse(readFileSync(b[0].manifest_path, "utf8")).created_at;
    await ok(dir, "verify", "app");
    const r = await ok(dir, "stats", "--prometheus");
    text = r.stdout;
    families = parseExposition(text);
  });

  it("exposes each database and destination with the values stats computes", () => {
    expect(sampleValue(families, "sqlbak_info", { version: pkg.version })).toBe(1);
    expect(sampleValue(families, "sqlbak_backups", { database: "app", kind: "manual" })).toBe(1);
    expect(sampleValue(families, "sqlbak_backups", { database: "shop", kind: "scheduled" })).toBe(0);
    expect(sampleValue(families, "sqlbak_last_success_timestamp_seconds", { database: "app" })).toBe(
      Date.parse(appCreatedAt) / 1000,
    );
    expect(sampleValue(families, "sqlbak_max_age_seconds", { database: "app" })).toBe(26 * 3600);
    expect(sampleValue(families, "sqlbak_last_verify_success", { database: "app" })).toBe(1);
    // shop was never verified: no result at all, and a 0 timestamp.
    expect(() => sampleValue(families, "sqlbak_last_verify_success", { database: "shop" })).toThrow("0 samples");
    expect(sampleValue(families, "sqlbak_last_verify_timestamp_seconds", { database: "shop" })).toBe(0);
    expect(sampleValue(families, "sqlbak_newest_backup_raw_bytes", { database: "app" })).toBe(
      statSync(join(dir, "app.db")).size,
    );
    expect(sampleValue(families, "sqlbak_last_backup_duration_seconds", { database: "app" })).toBeGreaterThan(0);
    expect(sampleValue(families, "sqlbak_destination_missing_backups", { database: "app", destination: "usb" })).toBe(
      0,
    );
    // "later" does not exist yet, so nothing was copied there: one backup behind.
    expect(sampleValue(families, "sqlbak_destination_missing_backups", { database: "app", destination: "later" })).toBe(
      1,
    );
    expect(
      sampleValue(families, "sqlbak_destination_last_copy_success", { destination: "later", database: "app" }),
    ).toBe(0);
    const free = sampleValue(families, "sqlbak_backup_dir_free_bytes", { backup_dir: join(dir, "backups") });
    const size = sampleValue(families, "sqlbak_backup_dir_size_bytes", { backup_dir: join(dir, "backups") });
    expect(free).toBeGreaterThan(0);
    expect(sampleValue(families, "sqlbak_backup_dir_min_free_bytes")).toBe(Math.round(size * 0.05));
  });

  it.skipIf(!PROMTOOL)("passes promtool check metrics", () => {
    expect(promtoolCheckMetrics(text)).toEqual({ code: 0, output: "" });
  });

  it("leaves out the destinations with --local, and refuses --json and --check", async () => {
    const local = parseExposition((await ok(dir, "stats", "--prometheus", "--local")).stdout);
    expect(local.has("sqlbak_destination_up")).toBe(false);
    expect(local.has("sqlbak_backups")).toBe(true);
    for (const flag of ["--json", "--check"]) {
      const r = await runCli(["stats", "--prometheus", flag], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--prometheus prints metrics; drop --check / --json");
      // Asked for JSON, the refusal is the JSON error object (docs/json.md); no metrics either way.
      if (flag === "--json") expect(parseJson(r.stdout).error).toMatchObject({ exit_code: 2, kind: "usage" });
      else expect(r.stdout).toBe("");
    }
  });

  it("escapes a backup_dir with quotes and backslashes in its label", async () => {
    const odd = setup(`backup_dir = 'bk"a\\b'`);
    await ok(odd, "backup");
    const out = (await ok(odd, "stats", "--prometheus")).stdout;
    expect(out).toContain(`backup_dir="${join(odd, "bk")}\\"a\\\\b"`);
    expect(
      sampleValue(parseExposition(out), "sqlbak_backup_dir_free_bytes", { backup_dir: join(odd, 'bk"a\\b') }),
    ).toBe(sampleValue(parseExposition(out), "sqlbak_backup_dir_free_bytes"));
    if (PROMTOOL) expect(promtoolCheckMetrics(out)).toEqual({ code: 0, output: "" });
  });

  describe("docs/prometheus/alerts.yml", () => {
    it("reads only metrics sqlbak emits", () => {
      const rules = Bun.YAML.parse(readFileSync(RULES, "utf8")) as {
        groups: { rules: { alert: string; expr: string }[] }[];
      };
      const alerts = rules.groups.flatMap((g) => g.rules);
      expect(alerts.map((a) => a.alert)).toEqual(
        expect.arrayContaining([
          "SqlbakNoRecentBackup",
          "SqlbakVerifyFailed",
          "SqlbakDestinationBehind",
          "SqlbakDiskSpaceLow",
        ]),
      );
      for (const a of alerts) {
        const names = metricNamesIn(a.expr);
        expect(names.length).toBeGreaterThan(0);
        expect({ alert: a.alert, unknown: names.filter((n) => !families.has(n)) }).toEqual({
          alert: a.alert,
          unknown: [],
        });
      }
    });

    it.skipIf(!PROMTOOL)("passes promtool check rules, and its unit tests", () => {
      const check = promtool("check", "rules", RULES);
      expect(check.code).toBe(0);
      expect(check.output).toContain("SUCCESS");
      const test = promtool("test", "rules", "test/fixtures/prometheus/alerts.test.yml");
      expect([test.code, test.output]).toEqual([0, expect.stringContaining("SUCCESS")]);
    });
  });

  it("docs/grafana/sqlbak-dashboard.json is a dashboard whose every query reads emitted metrics", () => {
    const dash = JSON.parse(readFileSync(join(ROOT, "docs/grafana/sqlbak-dashboard.json"), "utf8"));
    // (Plain typeof checks: Bun 1.4.5's toMatchObject with expect.any() empties the objects it matched.)
    expect([dash.uid, typeof dash.title, typeof dash.schemaVersion]).toEqual(["sqlbak", "string", "number"]);
    const exprs: string[] = [];
    for (const p of dash.panels) {
      expect([typeof p.type, typeof p.title, typeof p.gridPos]).toEqual(["string", "string", "object"]);
      for (const t of p.targets) exprs.push(t.expr);
    }
    for (const v of dash.templating.list)
      if (v.type === "query") exprs.push(v.query.query.replace(/^label_values\((.*), \w+\)$/, "$1"));
    expect(exprs.length).toBeGreaterThan(10);
    // What Grafana needs to import it: unique panel ids and refIds, panels within the 24-column grid,
    // and every $variable a query uses defined in the templating list.
    const ids = dash.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dash.panels) {
      const refs = p.targets.map((t: { refId: string }) => t.refId);
      expect(new Set(refs).size).toBe(refs.length);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
    const vars = new Set(dash.templating.list.map((v: { name: string }) => v.name));
    const usedVars = JSON.stringify(dash.panels)
      .match(/\$\{?(\w+)/g)!
      .map((v) => v.replace(/^\$\{?/, ""));
    expect(usedVars.filter((v) => !vars.has(v))).toEqual([]);
    const used = new Set(exprs.flatMap(metricNamesIn));
    expect([...used].filter((n) => !families.has(n))).toEqual([]);
    // Each alert's subject is on the dashboard too.
    for (const n of [
      "sqlbak_last_success_timestamp_seconds",
      "sqlbak_last_verify_success",
      "sqlbak_destination_missing_backups",
      "sqlbak_backup_dir_free_bytes",
    ])
      expect(used.has(n)).toBe(true);
  });
});

describe("metrics_file", () => {
  const TOML =
    'backup_dir = "backups"\nmetrics_file = "textfile/sqlbak.prom"\n' +
    "[retention]\nkeep_last = 1\nkeep_hourly = 0\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n";

  it("is rewritten atomically, readable by node_exporter, after backup, verify, rotate, restore and stats --check", async () => {
    const dir = setup(TOML);
    const textfile = join(dir, "textfile");
    const file = join(textfile, "sqlbak.prom");
    mkdirSync(textfile);
    await ok(dir, "backup", "--dry-run");
    expect(existsSync(file)).toBe(false);
    // Even under a strict umask (systemd's UMask=0077), node_exporter's user must be able to read it.
    const strict = await runCli(["backup", "--kind", "scheduled"], {
      cwd: dir,
      prefix: ["sh", "-c", 'umask 077; exec "$0" "$@"'],
    });
    expect(strict.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(textfile)).toEqual(["sqlbak.prom"]); // no temporary file left beside it
    const m1 = parseExposition(readFileSync(file, "utf8"));
    expect(sampleValue(m1, "sqlbak_backups", { kind: "scheduled" })).toBe(1);
    expect(m1.has("sqlbak_last_verify_success")).toBe(false);

    await ok(dir, "backup", "--kind", "scheduled");
    await ok(dir, "verify");
    const m2 = parseExposition(readFileSync(file, "utf8"));
    expect(sampleValue(m2, "sqlbak_backups", { kind: "scheduled" })).toBe(2);
    expect(sampleValue(m2, "sqlbak_last_verify_success")).toBe(1);

    await ok(dir, "rotate", "--dry-run");
    expect(sampleValue(parseExposition(readFileSync(file, "utf8")), "sqlbak_backups", { kind: "scheduled" })).toBe(2);
    await ok(dir, "rotate");
    expect(sampleValue(parseExposition(readFileSync(file, "utf8")), "sqlbak_backups", { kind: "scheduled" })).toBe(1);

    // A restore over the live database takes a pre-restore backup (asked for: a kept copy is no backup): the file shows it.
    await ok(dir, "restore", "app", "--latest", "--pre-restore", "backup", "--yes");
    expect(sampleValue(parseExposition(readFileSync(file, "utf8")), "sqlbak_backups", { kind: "pre-restore" })).toBe(1);

    unlinkSync(file);
    await ok(dir, "stats");
    expect(existsSync(file)).toBe(false); // reading stats is not a run
    await ok(dir, "stats", "--check");
    expect(sampleValue(parseExposition(readFileSync(file, "utf8")), "sqlbak_health_problems")).toBe(0);
    if (PROMTOOL) expect(promtoolCheckMetrics(readFileSync(file, "utf8"))).toEqual({ code: 0, output: "" });
  });

  it.skipIf(!NODE_EXPORTER)("is served by node_exporter's textfile collector running as another user", async () => {
    const dir = setup(TOML);
    const textfile = join(dir, "textfile");
    mkdirSync(textfile);
    // node_exporter (as nobody when we are root) must reach the folder; the file's own mode is sqlbak's job.
    for (const d of [dir, textfile]) chmodSync(d, 0o755);
    await ok(dir, "backup", "--kind", "scheduled");
    const port = await freePort();
    const exporter = Bun.spawn(
      [
        ...AS_NOBODY,
        NODE_EXPORTER!,
        `--web.listen-address=127.0.0.1:${port}`,
        "--collector.disable-defaults",
        "--collector.textfile",
        `--collector.textfile.directory=${textfile}`,
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    try {
      let body = "";
      for (let i = 0; i < 200 && !body; i++) {
        body = await fetch(`http://127.0.0.1:${port}/metrics`)
          .then((r) => r.text())
          .catch(() => Bun.sleep(50).then(() => ""));
      }
      expect(body).toContain("\nnode_textfile_scrape_error 0\n");
      expect(body).toContain('\nsqlbak_backups{database="app",kind="scheduled"} 1\n');
      expect(body).toContain(`\nsqlbak_info{version="${pkg.version}"} 1\n`);
    } finally {
      exporter.kill();
      await exporter.exited;
    }
  });

  it("records a failed backup run and a failed verification, and leaves their exit codes alone", async () => {
    const dir = setup(TOML);
    mkdirSync(join(dir, "textfile"));
    const file = join(dir, "textfile", "sqlbak.prom");
    const b = parseJson((await ok(dir, "backup", "--json")).stdout).results[0];
    flipByte(b.data_path, -20);
    const v = await runCli(["verify"], { cwd: dir });
    expect(v.code).toBe(3); // a failed verification (docs/exit-codes.md)
    const m = parseExposition(readFileSync(file, "utf8"));
    expect(sampleValue(m, "sqlbak_last_verify_success")).toBe(0);
    expect(sampleValue(m, "sqlbak_failed_backups")).toBe(1);
    expect(sampleValue(m, "sqlbak_health_problems")).toBeGreaterThan(0);

    unlinkSync(join(dir, "app.db"));
    const failed = await runCli(["backup"], { cwd: dir });
    writeFileSync(
      join(dir, "plain.toml"),
      readFileSync(join(dir, "sqlbak.toml"), "utf8").replace(/^metrics_file.*$/m, ""),
    );
    const plain = await runCli(["backup", "--config", "plain.toml"], { cwd: dir });
    expect(failed.code).not.toBe(0);
    expect(failed.code).toBe(plain.code);
    expect(sampleValue(parseExposition(readFileSync(file, "utf8")), "sqlbak_last_backup_run_success")).toBe(0);
  });

  it("that cannot be written is a warning, never a failed run", async () => {
    const dir = setup('backup_dir = "backups"\nmetrics_file = "missing/sqlbak.prom"\n');
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `cannot write metrics_file ${join(dir, "missing", "sqlbak.prom")}: no such file or directory; the run itself is not affected`,
    );
    expect(r.stderr).not.toContain("    at ");
  });

  it("must end in .prom, the only files node_exporter reads", async () => {
    const dir = setup('backup_dir = "backups"\nmetrics_file = "sqlbak.txt"\n');
    const r = await runCli(["backup"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`metrics_file: "sqlbak.txt" must end in .prom`);
  });
});
