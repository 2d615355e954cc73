export {};

/**
 * Prints `N passed, N failed[, N skipped]` from bun test's JUnit report and
 * exits non-zero on any failure or when no test ran.
 *   bun scripts/junit-summary.ts .test-results/junit.xml
 */
const xml = await Bun.file(process.argv[2]!)
  .text()
  .catch(() => "");
const cases = xml.match(/<testcase\b[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g) ?? [];
let failed = 0;
let skipped = 0;
for (const c of cases) {
  if (/<(failure|error)\b/.test(c)) failed++;
  else if (/<skipped\b/.test(c)) skipped++;
}
const passed = cases.length - failed - skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || cases.length === 0 ? 1 : 0);
