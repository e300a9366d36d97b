/**
 * Output a person can pipe: the main output of status, list, prune --dry-run and check is on
 * stdout and the logs on stderr (the built CLI spawned, the streams read apart, and a real
 * `| grep FAILED`); README's samples equal the real output of these commands on a sample catalog
 * (numbers, dates and sizes aside); --help shows examples, the environment and the exit codes;
 * no command is exit 2 with the usage.
 *
 * UPDATE_README_SAMPLES=1 rewrites README's sample blocks from this run (then read the diff).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '../helpers/pg-cluster.js';
import type { Cluster } from '../helpers/pg-common.js';
import { DAY_MS, HOUR_MS, writeFakeSet } from '../helpers/fake-catalog.js';
import { CLI, REPO, cli, userEnv, workspace, type ToolRun, type Workspace } from '../helpers/tool.js';
import { localTime } from '../../src/catalog/time.js';

const README = path.join(REPO, 'README.md');
const SAMPLE_DIR = '/opt/claude';
const HOOK = 'https://hooks.example.invalid/services/T000/B000/abcdefghijklmnop';

let pgc: Cluster;
let ws: Workspace;
let env: NodeJS.ProcessEnv;

const dailyId = (at: Date) => {
  const t = localTime(at, 'Asia/Shanghai');
  return `mystocks_${t.date}_${t.time}`;
};

beforeAll(async () => {
  pgc = await startCluster({ name: 'output' });
  await pgc.createDb('mystocks');
  ws = workspace(pgc, 'mystocks', {});
  const root = path.join(ws.dir, 'mystocks_backup');
  const nas = path.join(ws.dir, 'nas');
  mkdirSync(nas);
  ws = workspace(pgc, 'mystocks', {
    root,
    retention: { daily_days: 7, keep_last: 3, config_days: 30 },
    remotes: [{ type: 'path', name: 'nas', path: nas, require_mount: false }],
    notify: [{ kind: 'wecom', url_env: 'WECOM_WEBHOOK_URL' }],
  }, { dir: ws.dir });
  const now = Date.now();
  // Four nightly dailies (the newest verified), one ten days old, a milestone.
  for (const daysAgo of [0, 1, 2, 3, 10]) {
    const at = new Date(now - daysAgo * DAY_MS - 2 * HOUR_MS);
    await writeFakeSet(ws.root, { kind: 'daily', id: dailyId(at), startedAt: at, ...(daysAgo === 0 ? { verification: { result: 'passed' as const, at: new Date(now - HOUR_MS) } } : {}) });
  }
  const m = new Date(now - 40 * DAY_MS);
  await writeFakeSet(ws.root, { kind: 'milestone', id: `post_phase2_${localTime(m, 'Asia/Shanghai').date}`, startedAt: m, engines: ['postgres'] });
  env = userEnv(pgc, { WECOM_WEBHOOK_URL: HOOK });
});
afterAll(async () => {
  await pgc?.destroy();
});

const run = (args: string[]) => cli(args, { env, cwd: ws.dir });

/** The run's text as README shows it: the temp folder replaced by /opt/claude. */
const asSample = (text: string) => text.split(ws.dir).join(SAMPLE_DIR).trimEnd();

/** Numbers, sizes and runs of spaces do not count: dates, ages, versions and free space differ per run. */
const shape = (text: string) =>
  text
    .split('\n')
    .map((l) => l.replace(/\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)\b/g, 'SIZE').replace(/\d+/g, 'N').replace(/ +/g, ' ').trimEnd())
    .join('\n');

/** README's block after `<!-- sample: NAME -->`. */
function readmeSample(readme: string, name: string): { start: number; end: number; text: string } {
  const marker = `<!-- sample: ${name} -->\n\`\`\`\n`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README has no sample block "${name}"`);
  const start = at + marker.length;
  const end = readme.indexOf('\n```', start);
  return { start, end, text: readme.slice(start, end) };
}

const outputs = new Map<string, ToolRun>();

describe('the main output on stdout, the logs on stderr', () => {
  it('status: rows and summary on stdout only; `status | grep FAILED` shows the failed rows', async () => {
    const r = await run(['status']);
    outputs.set('status', r);
    expect(r.stdout).toMatch(/^PASSED {2}postgres backup: /m);
    expect(r.stdout).toMatch(/^status: \d+ passed, \d+ failed/m);
    expect(r.stderr).not.toMatch(/PASSED|FAILED|SKIPPED/);
    const failedRows = r.stdout.split('\n').filter((l) => l.startsWith('FAILED'));
    expect(failedRows.length).toBeGreaterThan(0);
    expect(r.code).toBe(1);
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" status | grep FAILED`], { env, cwd: ws.dir, encoding: 'utf8' });
    expect(piped.stdout.trimEnd().split('\n')).toEqual(failedRows);
  });

  it('list: the table on stdout only', async () => {
    const r = await run(['list']);
    outputs.set('list', r);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^SET +KIND +STATUS +CREATED +SIZE +VERIFIED +ENGINES$/);
    expect(r.stderr).not.toContain('KIND');
  });

  it('check: rows and summary on stdout only', async () => {
    const r = await run(['check']);
    outputs.set('check', r);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^PASSED {2}postgres login: /m);
    expect(r.stdout).toMatch(/^check: \d+ passed, 0 failed/m);
    expect(r.stderr).not.toMatch(/PASSED|FAILED|SKIPPED/);
  });

  it('prune --dry-run: the plan on stdout only, in the README format, nothing removed', async () => {
    const r = await run(['prune', '--dry-run']);
    outputs.set('prune --dry-run', r);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^remove mystocks_\d{8}_\d{6} \(daily, .+\) at .+\/mystocks_backup\/daily\/mystocks_\d{8}_\d{6}: daily, 10\.\d days old > 7 days$/m);
    expect(r.stdout).toMatch(/^keep {3}post_phase2_\d{8} \(milestone\): milestone: kept forever$/m);
    expect(r.stdout).toMatch(/^dry run: would remove 1 sets/m);
    expect(r.stderr).not.toMatch(/^(keep|remove) /m);
  });

  it('--json keeps stdout for the report alone', async () => {
    const r = await run(['status', '--json']);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stderr).toMatch(/^(PASSED|FAILED) /m);
  });
});

describe('README samples equal the real output', () => {
  it.each(['status', 'list', 'check', 'prune --dry-run'])('%s', (name) => {
    const r = outputs.get(name);
    expect(r, `${name} ran above`).toBeDefined();
    const real = asSample(r!.stdout);
    let readme = readFileSync(README, 'utf8');
    if (process.env.UPDATE_README_SAMPLES === '1') {
      const b = readmeSample(readme, name);
      readme = readme.slice(0, b.start) + real + readme.slice(b.end);
      writeFileSync(README, readme);
    }
    expect(shape(readmeSample(readme, name).text)).toBe(shape(real));
  });
});

describe('--help and no command', () => {
  it('--help shows examples, the environment variables and the exit codes, on stdout', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const s of ['Examples:', 'pgtaos-backup status | grep FAILED', 'Environment', 'PGPASSWORD', 'TDENGINE_PASSWORD', 'PGTAOS_BACKUP_CONFIG', 'AWS_SECRET_ACCESS_KEY', 'Exit codes:', '2  bad usage']) expect(r.stdout).toContain(s);
    expect(r.stdout).toMatch(/^ {2}check \[options\] +every precondition/m);
  });

  it('no command: exit 2, the usage on stderr, nothing on stdout', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: pgtaos-backup /m);
    expect(r.stderr).toContain('Exit codes:');
  });
});
