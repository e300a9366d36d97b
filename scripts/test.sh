#!/usr/bin/env bash
# The test command (README): installs what a fresh machine lacks, then type-checks, lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== node: $(command -v node) $(node --version)"
echo "== type check"
npx tsc -p tsconfig.check.json --noEmit
echo "== lint (eslint.config.js)"
npx eslint --max-warnings 0 .
echo "== tests"
results=$(mktemp -t vitest-results.XXXXXX.json)
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$results" "$@" || status=$?
# One plain closing line, whatever the reporter printed above.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$results" || true
rm -f "$results"
exit "$status"
