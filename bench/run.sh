#!/usr/bin/env bash
# Runs the benchmarks (npm run bench [-- --mb 1000 --rounds 3 --warmup 1 --jobs 2 --json]):
# backup and verify (arguments go to both), the TDengine backup against the stand-in taosdump, then the catalog bench (list, prune --dry-run and
# status as `node dist/cli.js` child processes on 1,000 sets). Exit 0 when every target is met,
# 1 when one is missed or a bench failed.
#
# Peak memory comes from /proc/<pid>/status (VmHWM of the tool's own process), so GNU time is not
# required; when /usr/bin/time exists it is used as a cross-check. This script installs nothing.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -f dist/cli.js ] || [ ! -f dist/cli/index.js ]; then
  echo "dist/ is missing: building it once (npm run build)" >&2
  npm run -s build || exit 1
fi
if [ ! -x /usr/bin/time ]; then
  echo "note: /usr/bin/time (Debian package 'time') is not installed: peak RSS comes from /proc polling alone, without the GNU time cross-check" >&2
fi

rc=0
npx tsx bench/backup-bench.ts "$@" || rc=1
npx tsx bench/verify-bench.ts "$@" || rc=1
# TDengine: the STAND-IN taosdump on both sides (no TDengine here): the tool's own overhead around it
npx tsx bench/tdengine-bench.ts || rc=1
npx tsx bench/catalog-bench.ts || rc=1
exit "$rc"
