#!/usr/bin/env bash
# All tests: system prerequisites, a fresh build, lint, then every vitest suite against the real
# kernel, PostgreSQL and Redis. Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

bash infra/scripts/ensure-system.sh || exit 1
[ -d node_modules ] || npm ci --no-audit --no-fund || exit 1
npm run build --silent || { echo "build failed" >&2; exit 1; }
npm run lint --silent || { echo "lint failed" >&2; exit 1; }

results=.vitest-results.json
rm -f "$results"
npx vitest run --reporter=default --reporter=json --outputFile="$results" "$@"
status=$?
if [ -f "$results" ]; then
  node -e '
    const r = require(process.argv[1]);
    console.log(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  ' "$(pwd)/$results"
fi
exit $status
