/**
 * The action as the runner runs it: `node dist/index.js`, no arguments, stdin closed, inputs as
 * INPUT_* variables (hyphens kept), outputs and summary through GITHUB_OUTPUT/GITHUB_STEP_SUMMARY files.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { liveLockInfo, readJson, runAction, workspace } from '../helpers/tool.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let seeded: MarketDataResult;
beforeAll(async () => {
  pgc = await startCluster({ name: 'action' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
});

describe('the action (dist/index.js)', () => {
  it('backs up with the password as an input, sets outputs and a job summary; the set restores with pg_restore', async () => {
    const ws = workspace(pgc, 'mystocks');
    const r = await runAction(ws, { command: 'backup', config: 'pgtaos-backup.yml', 'postgres-password': pgc.password }, {
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REF_NAME: 'main',
      GITHUB_REF_TYPE: 'branch',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'mystocks/ops',
      GITHUB_RUN_ID: '42',
      GITHUB_ACTOR: 'oncall',
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.outputs.status).toBe('success');
    expect(r.outputs['set-id']).toMatch(/^mystocks_\d{8}_\d{6}$/);
    expect(r.outputs['set-path']).toBe(path.join(ws.root, 'daily', r.outputs['set-id']!));
    const report = readJson<RunResult>(r.outputs['report-path']!);
    expect(report.set?.id).toBe(r.outputs['set-id']);
    const manifest = readJson<{ git: Record<string, string | null> }>(path.join(r.outputs['set-path']!, 'manifest.json'));
    expect(manifest.git).toMatchObject({ sha: 'a'.repeat(40), ref: 'refs/heads/main', tag: null, run_url: 'https://github.com/mystocks/ops/actions/runs/42', actor: 'oncall' });

    expect(r.summary).toContain('pgtaos-backup backup: success');
    expect(r.summary).toContain(r.outputs['set-id']);
    expect(r.summary).toContain('public.daily_bars');
    expect(r.summary).toContain('free space');
    // Progress is grouped in the log.
    expect(r.stdout).toContain('::group::PostgreSQL: dump mystocks');
    // The secret input is masked and never printed.
    expect(r.stdout).toContain(`::add-mask::${pgc.password}`);
    expect(r.stdout.split(`::add-mask::${pgc.password}`).join('')).not.toContain(pgc.password);
    expect(r.summary).not.toContain(pgc.password);

    await pgc.createDb('from_action');
    const restore = spawnSync(path.join(pgc.clientBinDir, 'pg_restore'), ['-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-d', 'from_action', '--exit-on-error', path.join(r.outputs['set-path']!, 'mystocks.dump')], { env: pgc.env, encoding: 'utf8' });
    expect(restore.status, restore.stderr).toBe(0);
    const n = await pgc.query<{ n: string }>('SELECT count(*)::text AS n FROM public.daily_bars', 'from_action');
    expect(Number(n[0]!.n)).toBe(seeded.tables['public.daily_bars']);
  });

  it('a missing required input fails the step with a message, outputs still written', async () => {
    const ws = workspace(pgc, 'mystocks');
    const r = await runAction(ws, {});
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('input command is required');
    expect(r.outputs.status).toBe('failure');
    expect(r.summary).toContain('What to do');
  });

  it('a failed backup fails the step and says why in the summary', async () => {
    const ws = workspace(pgc, 'mystocks');
    const r = await runAction(ws, { command: 'backup', 'postgres-password': 'wrong-password-x' });
    expect(r.code).not.toBe(0);
    expect(r.outputs.status).toBe('failure');
    expect(r.outputs['set-id']).toBe('');
    expect(r.summary).toContain('PostgreSQL refused the login');
    expect(r.summary).toContain('PGPASSWORD');
    expect(readJson<RunResult>(r.outputs['report-path']!).error?.code).toBe('postgres.auth');
  });
});

describe('the action: masking and the lock', () => {
  it('secrets mapped in with env: (not inputs) are registered with ::add-mask:: and never printed', async () => {
    const ws = workspace(null, 'mystocks');
    const secrets = { PGPASSWORD: 'env-pg-secret-81', TDENGINE_PASSWORD: 'env-td-secret-82', AWS_SECRET_ACCESS_KEY: 'env-aws-secret-83', AWS_SESSION_TOKEN: 'env-aws-token-84' };
    const r = await runAction(ws, { command: 'list' }, secrets);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const v of Object.values(secrets)) {
      expect(r.stdout).toContain(`::add-mask::${v}`);
      expect(r.stdout.split(`::add-mask::${v}`).join('') + r.stderr + r.summary).not.toContain(v);
    }
  });

  it('lock-wait: a held lock makes the step wait, then fail saying how long it waited', async () => {
    const ws = workspace(null, 'mystocks');
    mkdirSync(path.join(ws.root, 'logs'), { recursive: true });
    const lock = path.join(ws.root, '.lock');
    writeFileSync(lock, JSON.stringify(liveLockInfo()));
    const r = await runAction(ws, { command: 'prune', 'lock-wait': '1' });
    expect(r.code).not.toBe(0);
    expect(r.outputs.status).toBe('failure');
    expect(r.stdout).toContain('waiting up to 1 s (lock-wait)');
    expect(r.stdout).toMatch(/another pgtaos-backup run holds .*\.lock: backup \(pid \d+ .*\); waited 1 s for it/);
    expect(readJson<RunResult>(r.outputs['report-path']!).error?.code).toBe('lock.held');
  });

  it('lock-wait that is not a number of seconds fails the step with the input named', async () => {
    const ws = workspace(null, 'mystocks');
    const r = await runAction(ws, { command: 'prune', 'lock-wait': 'ten' });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('lock-wait "ten" is not a whole number of seconds');
    expect(r.outputs.status).toBe('failure');
    // Refused inputs or not, a secret in the environment is masked.
    const again = await runAction(ws, { command: 'prune', 'lock-wait': 'ten' }, { PGPASSWORD: 'env-pg-secret-85' });
    expect(again.stdout).toContain('::add-mask::env-pg-secret-85');
  });
});
