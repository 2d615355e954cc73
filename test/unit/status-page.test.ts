/** The status page's rendering: every string from data is escaped, in text and in attributes. */
import { describe, expect, it } from "bun:test";
import { databaseStats } from "../../src/lib/health/database-stats.ts";
import type { StatsReport } from "../../src/lib/health/stats-report.ts";
import { renderStatusPage } from "../../src/lib/output/html.ts";
import { esc } from "../../src/lib/output/html-escape.ts";
import { historyRows, renderHistoryTable } from "../../src/lib/output/html-history.ts";
import { niceMax } from "../../src/lib/output/html-plot.ts";
import type { FolderListing } from "../../src/lib/store/index.ts";
import { fileStored, manifestFixture } from "../helpers/manifest-fixture.ts";
import { readStatusPage } from "../helpers/status-page-dom.ts";

const HOSTILE = `<script>alert("x")</script>&'`;
const NOW = Date.parse("2026-05-01T12:00:00Z");

/** A page over one folder named `name`, one backup whose verification failed with `error`. */
function page(name: string, error: string) {
  const id = `${name}-20260501T100000000Z-00000000`;
  const m = manifestFixture(id, {
    database: name,
    created_at: "2026-05-01T10:00:00.000Z",
    stored: fileStored(id, 1000),
    verifications: [{ at: "2026-05-01T11:00:00.000Z", level: "quick", ok: false, problems: [error] }],
  });
  const listing: FolderListing = {
    database: name,
    folder: `/b/${name}`,
    backups: [{ manifest: m, manifestPath: `/b/${name}/${id}.json`, dataPath: `/b/${name}/${m.stored.file}` }],
    partials: [],
    problems: [],
  };
  const log = [{ ts: "2026-05-01T10:00:00.000Z", op: "backup", database: name, ok: false, error }];
  const d = databaseStats(listing, log as never, true, NOW);
  const report: StatsReport = {
    generated_at: new Date(NOW).toISOString(),
    backup_dir: `/b/${HOSTILE}`,
    databases: [d],
    volume: { path: "/b", free_bytes: 1, total_bytes: 2 },
    totals: { databases: 1, backups: 1, stored_bytes: 1000, raw_bytes: 1000, saved_bytes: 0 },
    destinations: [
      {
        destination: HOSTILE,
        location: `dir:${HOSTILE}`,
        database: name,
        ok: false,
        error,
        count: 0,
        stored_bytes: 0,
        newest: null,
        missing: 1,
        lag_ms: null,
        partials: 0,
        problems: [],
        last_copy: null,
      },
    ],
  };
  return {
    id,
    html: renderStatusPage({
      report,
      problems: [`${name}: ${error}`],
      listings: [listing],
      version: HOSTILE,
      staleAfterMs: 1,
    }),
  };
}

describe("esc", () => {
  it.each([
    ["plain", "plain"],
    ["a & b", "a &amp; b"],
    ["<b>", "&lt;b&gt;"],
    [`"double" 'single'`, "&quot;double&quot; &#39;single&#39;"],
    ["&amp;", "&amp;amp;"],
    [42, "42"],
  ])("%p -> %p", (input, out) => {
    expect(esc(input)).toBe(out);
  });
});

describe("renderStatusPage", () => {
  it("escapes a database name and an error full of markup wherever they appear", () => {
    const error = `bad <img src=x onerror=alert(1)> & "quoted" 'too'`;
    const { id, html } = page(HOSTILE, error);
    // Nothing from data becomes markup: no script, no img, no attribute breaks out of its quotes.
    expect(html.split("<script").length - 1).toBe(1); // the page's own inline script only
    expect(html).not.toContain("<img");
    expect(html).toContain(`data-database="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"`);
    const dom = readStatusPage(html);
    expect(dom.scripts).toBe(1);
    expect(dom.externalRefs).toEqual([]);
    expect(dom.databases.map((d) => d.name)).toEqual([HOSTILE]);
    expect(dom.problems).toEqual([`${HOSTILE}: ${error}`]);
    expect(dom.databases[0]!.problems).toEqual([`${HOSTILE}: ${error}`]);
    expect(dom.databases[0]!.rows.map((r) => r.id)).toEqual([id]);
    expect(dom.databases[0]!.rows[0]!.cells[8]).toBe(`FAILED (quick) 1h ago ${error}`);
    expect(dom.databases[0]!.facts["last run"]).toStartWith(`FAILED: ${error}`);
    expect(dom.destinations).toEqual([
      { database: HOSTILE, destination: HOSTILE, cells: expect.arrayContaining([`unreachable: ${error}`]) },
    ]);
  });
});

describe("historyRows", () => {
  it("lists a backup whose data file is gone as DATA MISSING, in time order with the others", () => {
    const at = (h: number) => `2026-05-01T${String(h).padStart(2, "0")}:00:00.000Z`;
    const mk = (h: number) => {
      const id = `app-20260501T${String(h).padStart(2, "0")}0000000Z-0000000${h}`;
      const m = manifestFixture(id, { created_at: at(h), stored: fileStored(id, 10), duration_ms: 1500 * h });
      return { manifest: m, manifestPath: `/b/app/${id}.json`, dataPath: `/b/app/${m.stored.file}` };
    };
    const [a, b, c] = [mk(1), mk(2), mk(3)];
    const listing: FolderListing = {
      database: "app",
      folder: "/b/app",
      backups: [a!, c!],
      partials: [],
      problems: [],
      missingData: [b!],
    };
    const rows = historyRows(listing, new Map());
    expect(rows.map((r) => [r.id, r.state, r.type, r.duration_ms])).toEqual([
      [a!.manifest.id, "never", "full", 1500],
      [b!.manifest.id, "missing", "full", 3000],
      [c!.manifest.id, "never", "full", 4500],
    ]);
    const dom = readStatusPage(
      `<section class="database" data-database="app">${renderHistoryTable(rows, new Date(NOW))}</section>`,
    );
    expect(dom.databases[0]!.rows.map((r) => [r.state, r.cells[6], r.cells[8]])).toEqual([
      ["never", "4.5 s", "never"],
      ["missing", "3.0 s", "DATA MISSING data file missing"],
      ["never", "1.5 s", "never"],
    ]);
  });
});

describe("niceMax", () => {
  it.each([
    [0, 10, 1],
    [7, 10, 10],
    [130, 10, 200],
    [4_900, 10, 5_000],
    [1_300_000, 1024, 2 * 1024 * 1024],
    [700 * 1024, 1024, 1024 * 1024],
    [300 * 1024, 1024, 500 * 1024],
    [3 * 1024 ** 3, 1024, 5 * 1024 ** 3],
  ])("%p (base %p) -> %p", (max, base, out) => {
    expect(niceMax(max, base)).toBe(out);
  });
});
