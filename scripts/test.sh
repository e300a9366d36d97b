#!/usr/bin/env bash
# The test command (README): installs what a fresh machine lacks, then type-checks and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== type check"
npx tsc -p tsconfig.check.json --noEmit
echo "== tests"
npx vitest run "$@"
