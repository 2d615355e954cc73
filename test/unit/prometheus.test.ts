import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseStats, DestinationStats, StatsReport } from "../../src/lib/health/index.ts";
import { escapeLabelValue, type PrometheusInput, renderPrometheus } from "../../src/lib/output/prometheus.ts";
import { parseExposition, sampleValue } from "../helpers/prom-parse.ts";
import { tempDir } from "../helpers/tmp.ts";

const PROMTOOL = Bun.which("promtool");

function database(over: Partial<DatabaseStats> = {}): DatabaseStats {
  const ref = { id: "app-1", created_at: "2026-11-22T00:00:00.000Z", age_ms: 1000 };
  return {
    database: "app",
    configured: true,
    count: { scheduled: 2, manual: 1, "pre-restore": 0, total: 3 },
    stored_bytes: 300,
    raw_bytes: 3000,
    saved_bytes: 2700,
    raw_bytes_newest: 1000,
    stored_bytes_newest: 100,
    added_bytes_newest: 90,
    compression_ratio: 10,
    oldest: ref,
    newest: ref,
    newest_own: ref,
    future_dated: [],
    last_verification: {
      id: "app-1",
      at: "2026-11-22T01:00:00.000Z",
      level: "quick",
      ok: false,
      problems: ["x"],
      age_ms: 0,
    },
    last_restore_test: null,
    last_backup_run: { ts: "2026-11-22T00:00:05.000Z", ok: true },
    failures_since_success: [],
    partials: [],
    skipped_manifests: [],
    failed_backups: [],
    pre_restore_files: [],
    ...over,
  };
}

function destination(over: Partial<DestinationStats> = {}): DestinationStats {
  return {
    destination: "offsite",
    location: null,
    database: "app",
    ok: true,
    count: 2,
    stored_bytes: 200,
    newest: null,
    missing: 1,
    lag_ms: 3_600_000,
    partials: 0,
    problems: [],
    last_copy: null,
    ...over,
  };
}

function input(report: Partial<StatsReport>): PrometheusInput {
  return {
    report: {
      generated_at: "2026-11-22T02:00:00.000Z",
      backup_dir: "/b",
      databases: [database()],
      volume: { path: "/b", free_bytes: 10, total_bytes: 100 },
      totals: { databases: 1, backups: 3, stored_bytes: 300, raw_bytes: 3000, saved_bytes: 2700 },
      ...report,
    },
    version: "9.9.9",
    thresholdsOf: () => ({ maxAgeMs: 26 * 3_600_000, verifyMaxAgeMs: 0 }),
    minFreeBytes: 5,
    log: [{ ts: "2026-11-22T00:00:05.000Z", pid: 1, op: "backup", database: "app", ok: true, duration_ms: 1500 }],
    problems: ["one", "two"],
  };
}

describe("renderPrometheus", () => {
  it("writes gauges with HELP and TYPE, seconds and bytes as the names say", () => {
    const f = parseExposition(renderPrometheus(input({})));
    expect([...f.values()].every((x) => x.type === "gauge" && x.help.length > 0)).toBe(true);
    expect(sampleValue(f, "sqlbak_info", { version: "9.9.9" })).toBe(1);
    expect(sampleValue(f, "sqlbak_health_problems")).toBe(2);
    expect(sampleValue(f, "sqlbak_backups", { database: "app", kind: "manual" })).toBe(1);
    expect(sampleValue(f, "sqlbak_last_success_timestamp_seconds")).toBe(Date.parse("2026-11-22T00:00:00Z") / 1000);
    expect(sampleValue(f, "sqlbak_last_backup_duration_seconds")).toBe(1.5);
    expect(sampleValue(f, "sqlbak_max_age_seconds")).toBe(26 * 3600);
    expect(sampleValue(f, "sqlbak_last_verify_success")).toBe(0);
    expect(sampleValue(f, "sqlbak_last_restore_test_timestamp_seconds")).toBe(0);
    expect(sampleValue(f, "sqlbak_backup_dir_min_free_bytes", { backup_dir: "/b" })).toBe(5);
  });

  it("leaves out what is unknown rather than inventing a value", () => {
    const never = database({ last_verification: null, last_backup_run: null, raw_bytes_newest: null });
    const down = destination({ ok: false, error: "no route", count: 0, missing: 0, lag_ms: null });
    const f = parseExposition(renderPrometheus(input({ databases: [never], destinations: [down], volume: null })));
    expect(f.has("sqlbak_last_verify_success")).toBe(false);
    expect(f.has("sqlbak_last_backup_run_success")).toBe(false);
    expect(f.has("sqlbak_newest_backup_raw_bytes")).toBe(false);
    expect(sampleValue(f, "sqlbak_last_verify_timestamp_seconds")).toBe(0);
    // An unreachable destination is not "in sync": it has no missing count at all, only up = 0.
    expect(sampleValue(f, "sqlbak_destination_up")).toBe(0);
    expect(f.has("sqlbak_destination_missing_backups")).toBe(false);
    expect(f.has("sqlbak_backup_dir_free_bytes")).toBe(false);
  });

  it("keeps every family together across several databases and destinations", () => {
    const dbs = [database(), database({ database: "shop" })];
    const ds = [destination(), destination({ database: "shop" }), destination({ destination: "usb", missing: 0 })];
    const f = parseExposition(renderPrometheus(input({ databases: dbs, destinations: ds })));
    expect(f.get("sqlbak_backups")!.samples).toHaveLength(6);
    expect(sampleValue(f, "sqlbak_destination_missing_backups", { database: "app", destination: "usb" })).toBe(0);
    expect(sampleValue(f, "sqlbak_destination_lag_seconds", { database: "shop", destination: "offsite" })).toBe(3600);
  });

  it("escapes backslashes, quotes and newlines in label values", () => {
    const nasty = 'C:\\backups\\"new"\nline';
    expect(escapeLabelValue(nasty)).toBe('C:\\\\backups\\\\\\"new\\"\\nline');
    const text = renderPrometheus(input({ backup_dir: nasty }));
    expect(sampleValue(parseExposition(text), "sqlbak_backup_dir_free_bytes", { backup_dir: nasty })).toBe(10);
  });

  it.skipIf(!PROMTOOL)("passes promtool check metrics, nasty labels included", () => {
    const ds = [destination(), destination({ ok: false, error: "x" })];
    const text = renderPrometheus(input({ backup_dir: 'a\\b"c\nd', destinations: ds }));
    const file = join(tempDir(), "m.prom");
    writeFileSync(file, text);
    const r = Bun.spawnSync([PROMTOOL!, "check", "metrics"], { stdin: Bun.file(file) });
    expect([r.exitCode, r.stdout.toString() + r.stderr.toString()]).toEqual([0, ""]);
  });
});

describe("parseExposition (the strict test parser)", () => {
  const ok = "# HELP a_bytes An a.\n# TYPE a_bytes gauge\n";
  it("accepts a valid family with escapes, NaN, Inf and a timestamp", () => {
    const f = parseExposition(`${ok}a_bytes{l="x\\\\y\\"z\\n"} NaN\na_bytes{l="2"} +Inf 1700000000000\na_bytes 1e3\n`);
    expect(f.get("a_bytes")!.samples.map((s) => s.labels.l)).toEqual(['x\\y"z\n', "2", undefined]);
    expect(sampleValue(f, "a_bytes", { l: "2" })).toBe(Infinity);
  });

  it.each([
    ["no final newline", `${ok}a_bytes 1`, /does not end with a newline/],
    ["no HELP/TYPE", "a_bytes 1\n", /without HELP and TYPE/],
    ["TYPE after the samples", `${ok}a_bytes 1\n# TYPE a_bytes gauge\n`, /after its samples/],
    ["a second HELP", `${ok}# HELP a_bytes again\na_bytes 1\n`, /second HELP/],
    ["an unknown type", "# HELP a x\n# TYPE a gaug\na 1\n", /unknown TYPE/],
    ["a bad metric name", "# HELP 1a x\n# TYPE 1a gauge\n1a 1\n", /bad metric name/],
    ["a bad label name", `${ok}a_bytes{1l="x"} 1\n`, /bad label name/],
    ["a reserved label name", `${ok}a_bytes{__x="x"} 1\n`, /reserved/],
    ["a label given twice", `${ok}a_bytes{l="x",l="y"} 1\n`, /given twice/],
    ["an unquoted label value", `${ok}a_bytes{l=x} 1\n`, /not quoted/],
    ["a bad escape", `${ok}a_bytes{l="a\\tb"} 1\n`, /bad escape/],
    ["an unterminated value", `${ok}a_bytes{l="abc} 1\n`, /unterminated/],
    ["a value that is not a number", `${ok}a_bytes 12abc\n`, /not a number/],
    ["a bad timestamp", `${ok}a_bytes 1 1.5\n`, /bad timestamp/],
    ["a duplicate series", `${ok}a_bytes{x="1",y="2"} 1\na_bytes{y="2",x="1"} 2\n`, /duplicate series/],
    ["a family split in two", `${ok}a_bytes 1\n# HELP b x\n# TYPE b gauge\nb 1\na_bytes{l="x"} 2\n`, /not together/],
    ["HELP without samples", `${ok}`, /without any sample/],
  ])("refuses %s", (_, text, message) => {
    expect(() => parseExposition(text)).toThrow(message);
  });
});
