/**
 * The status page's inline script, run by headless Chromium: a page older than max_age says, when opened,
 * that whatever refreshes it may have stopped; a fresh one shows no such line. Without this a page whose
 * health job died would look healthy forever.
 */
import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StatsReport } from "../../src/lib/health/index.ts";
import { renderStatusPage } from "../../src/lib/output/index.ts";
import { dumpDom } from "../helpers/chromium.ts";
import { readStatusPage } from "../helpers/status-page-dom.ts";
import { tempDir } from "../helpers/tmp.ts";

const HOUR_MS = 3_600_000;
const MAX_AGE_MS = 26 * HOUR_MS;

function pageWrittenAgo(ageMs: number): string {
  const report: StatsReport = {
    generated_at: new Date(Date.now() - ageMs).toISOString(),
    backup_dir: "/b",
    databases: [],
    volume: { path: "/b", free_bytes: 1, total_bytes: 2 },
    totals: { databases: 0, backups: 0, stored_bytes: 0, raw_bytes: 0, saved_bytes: 0 },
  };
  const path = join(tempDir(), "index.html");
  writeFileSync(path, renderStatusPage({ report, problems: [], listings: [], version: "t", staleAfterMs: MAX_AGE_MS }));
  return path;
}

describe("the status page's stale warning", () => {
  it("shows for a page written longer ago than max_age", async () => {
    const dom = readStatusPage(await dumpDom(pageWrittenAgo(3 * 24 * HOUR_MS)));
    expect(dom.stale).toBe(
      "This page was written 3d ago, longer ago than max_age 26h: whatever refreshes it (the health job) " +
        "may have stopped, so what it shows may be out of date.",
    );
  }, 60_000);

  it("stays hidden for a page written within max_age", async () => {
    const dom = readStatusPage(await dumpDom(pageWrittenAgo(25 * HOUR_MS)));
    expect(dom.stale).toBeNull();
    expect(dom.healthy).toBe(true);
  }, 60_000);
});
