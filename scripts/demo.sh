#!/usr/bin/env bash
# The quick-start demo: sets up what it needs, then runs the daily job on a throwaway database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tsx scripts/demo.ts "$@"
