#!/usr/bin/env bash
# The whole test suite: build the binary the e2e tests run, then `bun test`,
# ending with one plain `N passed, N failed` line (read by CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bun run --silent build >/dev/null
mkdir -p .test-results
rm -f .test-results/junit.xml
status=0
bun test --timeout 60000 --reporter=junit --reporter-outfile=.test-results/junit.xml "$@" || status=$?
bun scripts/junit-summary.ts .test-results/junit.xml || status=1
exit "$status"
