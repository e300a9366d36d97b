#!/usr/bin/env bash
# Builds the two bundles with ncc: dist/index.js (the action) and dist/cli.js (the CLI).
# ncc type-checks src/ with tsconfig.json; tests and tools are checked with tsconfig.check.json.
# ncc always names its entry index.js, so the CLI bundle lives in dist/cli/ behind a one-line dist/cli.js.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npx ncc build src/index.ts -o dist --license licenses.txt --quiet
npx ncc build src/cli.ts -o dist/cli --quiet
rm -f dist/cli/package.json.tmp
printf '#!/usr/bin/env node\nimport "./cli/index.js";\n' > dist/cli.js
chmod +x dist/cli.js
