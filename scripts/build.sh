#!/usr/bin/env bash
# Builds the two bundles with ncc: dist/index.js (the action) and dist/cli.js (the CLI).
# ncc type-checks src/ with tsconfig.json; tests and tools are checked with tsconfig.check.json.
# ncc always names its entry index.js, so the CLI bundle lives in dist/cli/ behind a one-line dist/cli.js.
# `bash scripts/build.sh /some/folder` builds there instead (for PGTAOS_TEST_DIST=/some/folder).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
rm -rf "$out"
npx ncc build src/index.ts -o "$out" --license licenses.txt --quiet
npx ncc build src/cli.ts -o "$out/cli" --license licenses.txt --quiet
rm -f "$out/cli/package.json.tmp"
printf '#!/usr/bin/env node\nimport "./cli/index.js";\n' > "$out/cli.js"
chmod +x "$out/cli.js"
