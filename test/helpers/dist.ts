/**
 * The bundles the end-to-end tests run: the repository's dist/ (what users and the runner run),
 * or PGTAOS_TEST_DIST=/some/folder to test a build made elsewhere without touching dist/
 * (`bash scripts/build.sh /some/folder`). The one definition: tool.ts re-exports these as CLI/ACTION.
 */
import path from 'node:path';

export const REPO = path.resolve(new URL('../..', import.meta.url).pathname);
export const DIST = process.env.PGTAOS_TEST_DIST ? path.resolve(process.env.PGTAOS_TEST_DIST) : path.join(REPO, 'dist');
export const DIST_CLI = path.join(DIST, 'cli.js');
export const DIST_ACTION = path.join(DIST, 'index.js');
