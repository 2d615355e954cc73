import { describe, expect, it } from "bun:test";
import type { DestinationStats } from "../../src/lib/health/remote.ts";
import type { DatabaseStats, StatsReport } from "../../src/lib/health/stats-report.ts";
import { checkHealth, type FreeSpaceThreshold, STRAY_PARTIAL_AGE_MS } from "../../src/lib/health/verdict.ts";

const H = 3_600_000;
const D = 24 * H;
const GiB = 1024 ** 3;

function db(over: Partial<DatabaseStats> = {}): DatabaseStats {
  const newest = over.newest === undefined ? { id: "n", created_at: "", age_ms: 2 * H } : over.newest;
  return {
    newest_own: "newest_own" in over ? over.newest_own! : newest,
    database: "app",
    configured: true,
    count: { scheduled: 3, manual: 0, "pre-restore": 0, total: 3 },
    stored_bytes: 300,
    raw_bytes: 3000,
    saved_bytes: 2700,
    raw_bytes_newest: 1000,
    stored_bytes_newest: 100,
    added_bytes_newest: 100,
    compression_ratio: 10,
    oldest: { id: "o", created_at: "", age_ms: 3 * D },
    newest: { id: "n", created_at: "", age_ms: 2 * H },
    future_dated: [],
    last_verification: { id: "n", at: "2026-11-20T00:00:00Z", level: "quick", ok: true, problems: [], age_ms: 1 * D },
    last_restore_test: { id: "n", at: "2026-11-20T00:00:00Z", level: "quick", ok: true, problems: [], age_ms: 1 * D },
    last_backup_run: { ts: "2026-11-22T00:00:00Z", ok: true },
    failures_since_success: [],
    partials: [],
    skipped_manifests: [],
    failed_backups: [],
    pre_restore_files: [],
    ...over,
  };
}

function report(dbs: DatabaseStats[], free = 100 * GiB, total = 200 * GiB): StatsReport {
  return {
    generated_at: "",
    backup_dir: "/b",
    databases: dbs,
    volume: { path: "/b", free_bytes: free, total_bytes: total },
    totals: { databases: dbs.length, backups: 0, stored_bytes: 0, raw_bytes: 0, saved_bytes: 0 },
  };
}

const T = { maxAgeMs: 26 * H, verifyMaxAgeMs: 8 * D };
const check = (r: StatsReport, minFree: FreeSpaceThreshold = { percent: 5 }) => checkHealth(r, () => T, minFree);

describe("checkHealth", () => {
  it("finds nothing wrong with a healthy setup", () => {
    expect(check(report([db()]))).toEqual([]);
  });

  it.each<[string, Partial<DatabaseStats>, RegExp]>([
    ["no backups", { newest: null, oldest: null }, /^app: no backups$/],
    [
      "a newest backup whose WAL was starved",
      {
        wal_starved: {
          id: "n",
          raw_size: 1024 ** 2,
          backlog_bytes: 80 * 1024 ** 2,
          wal_bytes: 80 * 1024 ** 2,
          threshold_bytes: 64 * 1024 ** 2,
        },
      },
      /^app: the WAL holds 80 MiB written since its last restart .*checkpoint starvation.*leave a gap between backups.* \(newest backup n\)$/,
    ],
    [
      "a stale newest backup",
      { newest: { id: "n", created_at: "", age_ms: 27 * H } },
      /^app: newest backup is 27h old \(max_age 26h\)$/,
    ],
    [
      "a failed verification",
      {
        last_verification: {
          id: "x",
          at: "",
          level: "full",
          ok: false,
          problems: ["row count of items: 3, manifest says 4"],
          age_ms: H,
        },
      },
      /^app: last verification failed \(x, 1h ago\): row count of items/,
    ],
    [
      "no verification within verify_max_age",
      {
        oldest: { id: "o", created_at: "", age_ms: 30 * D },
        last_verification: { id: "x", at: "", level: "quick", ok: true, problems: [], age_ms: 9 * D },
      },
      /^app: not verified within verify_max_age 8d \(last 9d ago\)$/,
    ],
    [
      "never verified after verify_max_age of backups",
      { oldest: { id: "o", created_at: "", age_ms: 9 * D }, last_verification: null },
      /^app: not verified within verify_max_age 8d \(never\)$/,
    ],
    [
      "an older backup whose latest verification failed, though the last one passed",
      {
        failed_backups: [
          {
            id: "o",
            created_at: "",
            reason: "failed verification",
            detail: "stored file sha256 ab… does not match",
            at: "",
            age_ms: 2 * H,
          },
        ],
      },
      /^app: backup o: latest verification failed \(2h ago\): stored file sha256/,
    ],
    [
      "a backup whose own verification passed but which references a pack another backup's newer record failed",
      {
        failed_backups: [
          {
            id: "o",
            created_at: "",
            reason: "pack failed verification",
            detail: "pack pack-1.zst failed verification of n at 2026-11-22T02:00:00.000Z",
            at: "2026-11-22T02:00:00.000Z",
            age_ms: 2 * H,
            packs: ["pack-1.zst"],
          },
        ],
      },
      /^app: backup o: FAILED: pack pack-1\.zst failed verification of n at 2026-11-22T02:00:00\.000Z$/,
    ],
    [
      "a backup whose data file is missing",
      {
        failed_backups: [
          {
            id: "o",
            created_at: "",
            reason: "data missing",
            detail: "data file o.sqlite.zst is missing",
            at: null,
            age_ms: null,
          },
        ],
        skipped_manifests: [{ id: "o", path: "/b/app/o.json", reason: "data file o.sqlite.zst is missing" }],
      },
      /^app: backup o: data missing: data file o.sqlite.zst is missing$/,
    ],
    [
      "a failed last run",
      { last_backup_run: { ts: "2026-11-22T02:00:00Z", ok: false, error: "disk full" } },
      /^app: last backup run failed at 2026-11-22T02:00:00Z: disk full$/,
    ],
    [
      "an old partial file",
      { partials: [{ path: "/b/app/.x.tmp", size: 1, age_ms: STRAY_PARTIAL_AGE_MS + 1 }] },
      /^app: 1 partial file\(s\) older than a day, e.g. \/b\/app\/.x.tmp$/,
    ],
  ])("reports %s", (_what, over, line) => {
    const problems = check(report([db(over)]));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(line);
  });

  it("counts a checksum-only verification for verify_max_age only where no identity is configured", () => {
    const checksumOnly = db({
      oldest: { id: "o", created_at: "", age_ms: 30 * D },
      last_verification: { id: "n", at: "", level: "checksum", ok: true, problems: [], age_ms: 1 * D },
      last_restore_test: { id: "o", at: "", level: "quick", ok: true, problems: [], age_ms: 20 * D },
    });
    expect(checkHealth(report([checksumOnly]), () => T, {})).toEqual([]);
    expect(checkHealth(report([checksumOnly]), () => ({ ...T, restoreTestOnly: true }), {})).toEqual([
      "app: not restore-tested (verify --level quick or full) within verify_max_age 8d (last 20d ago)",
    ]);
  });

  it("does not count pre-restore copies as fresh backups", () => {
    const old = { id: "o", created_at: "", age_ms: 3 * D };
    expect(
      checkHealth(report([db({ newest: { id: "p", created_at: "", age_ms: H }, newest_own: old })]), () => T, {}),
    ).toEqual(["app: newest backup is 3d old (max_age 26h)"]);
    expect(checkHealth(report([db({ newest_own: null })]), () => T, {})).toEqual([
      "app: no scheduled or manual backups (only pre-restore copies)",
    ]);
  });

  it("does not call a young database unverified", () => {
    expect(
      check(report([db({ oldest: { id: "o", created_at: "", age_ms: 2 * D }, last_verification: null })])),
    ).toEqual([]);
  });

  it("ignores a fresh partial file: it may be a backup in progress", () => {
    expect(check(report([db({ partials: [{ path: "/p", size: 1, age_ms: 60_000 }] })]))).toEqual([]);
  });

  it("reports free space below min_free_space, as a percentage or bytes", () => {
    expect(check(report([db()], 4 * GiB, 100 * GiB))).toEqual([
      expect.stringMatching(/has 4.0 GiB free, below min_free_space \(5.0 GiB\)/),
    ]);
    expect(check(report([db()], 4 * GiB, 100 * GiB), { bytes: 10 * GiB })).toEqual([
      expect.stringMatching(/below min_free_space \(10 GiB\)/),
    ]);
  });

  it("reports free space smaller than the next backups need", () => {
    const big = db({ raw_bytes_newest: 50 * GiB, stored_bytes_newest: 10 * GiB });
    expect(check(report([big], 40 * GiB, 1000 * GiB), { percent: 0 })).toEqual([
      expect.stringMatching(/has 40 GiB free; the next backups need about 60 GiB/),
    ]);
  });

  it("lists several problems, one line each", () => {
    expect(
      check(
        report([
          db({ newest: null, oldest: null }),
          db({ database: "b", last_backup_run: { ts: "t", ok: false, error: "e" } }),
        ]),
      ),
    ).toHaveLength(2);
  });
});

describe("checkHealth: destinations", () => {
  const dest = (over: Partial<DestinationStats> = {}): DestinationStats => ({
    destination: "offsite",
    location: "s3://b/p",
    database: "app",
    ok: true,
    count: 3,
    stored_bytes: 300,
    newest: { id: "n", created_at: "", age_ms: 2 * H },
    missing: 0,
    lag_ms: 0,
    problems: [],
    partials: 0,
    last_copy: { ts: "", ok: true },
    ...over,
  });
  const withDests = (...ds: DestinationStats[]) => ({ ...report([db()]), destinations: ds });

  it.each([
    ["up to date", dest(), []],
    ["behind, but within max_age", dest({ lag_ms: 25 * H, missing: 1 }), []],
    [
      "behind by more than max_age",
      dest({ lag_ms: 27 * H, missing: 2 }),
      ["app @ offsite: newest copy is 27h behind the newest local backup (max_age 26h)"],
    ],
    [
      "unreachable",
      dest({ ok: false, error: "cannot connect to http://h: connection refused", count: 0, lag_ms: null }),
      ["app @ offsite: cannot list the destination: cannot connect to http://h: connection refused"],
    ],
    [
      "nothing copied yet",
      dest({ count: 0, missing: 2, lag_ms: null, newest: null, last_copy: { ts: "", ok: false, error: "denied" } }),
      ["app @ offsite: no copies yet (2 local backups not copied); last copy failed: denied"],
    ],
    ["no local backups and no copies", dest({ count: 0, missing: 0, lag_ms: null, newest: null }), []],
  ] as [string, DestinationStats, string[]][])("%s", (_what, d, want) => {
    expect(check(withDests(d))).toEqual(want);
  });
});
