/**
 * restore: exact confirmation, the set read first, a safety set, the restore into a new database
 * swapped in only when its counts match, a roll-back command that works. The swap cases
 * (no --clean over an existing database, a missing production database, a damaged set, what a
 * stop says, timescaledb.restoring) are in restore-swap.test.ts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { fakeBinDir, behave } from '../helpers/fake-bin.js';
import { incompleteDirs, json, readJson, setDirs, userEnv, withPostgres, workspace, type Workspace } from '../helpers/tool.js';
import { backupSet, interrupt, lastHint, launch, listed, lockFiles, reportOf, run } from '../helpers/faults.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let seeded: MarketDataResult;
beforeAll(async () => {
  pgc = await startCluster({ name: 'restore' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
});

const env = () => userEnv(pgc);
async function count(table: string, db = 'mystocks'): Promise<number> {
  return Number((await pgc.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`, db))[0]!.n);
}
async function databases(): Promise<string[]> {
  return (await pgc.query<{ datname: string }>('SELECT datname FROM pg_database')).map((d) => d.datname);
}
/** Rows lost in a table the dump holds: what a restore must put back and a roll-back must bring back. */
async function damage(): Promise<number> {
  await pgc.psql('DELETE FROM public.daily_bars WHERE trade_date > (SELECT min(trade_date) FROM public.daily_bars);', 'mystocks');
  const n = await count('public.daily_bars');
  expect(n).toBeLessThan(seeded.tables['public.daily_bars']!);
  return n;
}
/** Puts production back for the next test (a plain restore of a good set). */
async function repair(ws: Workspace, setId: string): Promise<void> {
  const r = await run(ws, ['restore', setId, '--target', 'mystocks', '--confirm', 'mystocks'], env());
  expect(r.code, r.stderr).toBe(0);
  for (const [t, n] of Object.entries(seeded.tables)) expect(await count(t), t).toBe(n);
}

describe('restore', () => {
  it('refuses without the exact confirmation: exit 2, nothing touched, no safety set', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    for (const confirm of ['mystock', 'MYSTOCKS', 'mystocks ']) {
      const r = await run(ws, ['restore', set.id, '--target', 'mystocks', '--confirm', confirm], env());
      expect(r.code, confirm).toBe(2);
      expect(r.stderr).toContain('does not repeat the target');
    }
    const missing = await run(ws, ['restore', set.id, '--target', 'mystocks'], env());
    expect(missing.code).toBe(2);
    expect(existsSync(path.join(ws.root, 'safety'))).toBe(false);
  });

  it('data corruption: restores the set over the damaged database after a safety set, and the printed roll-back command brings the damaged state back', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    // Damage: rows lost, a table emptied.
    const damagedBars = await damage();
    await pgc.psql('DELETE FROM analytics.factor_scores;', 'mystocks');

    const r = await run(ws, ['restore', set.id, '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const result = json<RunResult>(r);
    expect(result.checks.map((c) => [c.name, c.result])).toEqual([
      ['set files', 'passed'],
      ['safety set', 'passed'],
      ['postgres restore', 'passed'],
      ['postgres row counts', 'passed'],
      ['postgres swap', 'passed'],
    ]);
    for (const [t, n] of Object.entries(seeded.tables)) expect(await count(t), t).toBe(n);

    // The safety set holds the damaged state, and is listed.
    const safetyIds = setDirs(ws, 'safety');
    expect(safetyIds).toHaveLength(1);
    const safety = readJson<Manifest>(path.join(ws.root, 'safety', safetyIds[0]!, 'manifest.json'));
    expect(safety.kind).toBe('safety');
    expect(safety.postgres!.tables.find((t) => t.name === 'public.daily_bars')!.rows).toBe(damagedBars);
    expect((await listed(ws)).some((s) => s.kind === 'safety' && s.id === safetyIds[0])).toBe(true);
    const st = json<RunResult>(await run(ws, ['status', '--json'], env()));
    expect(st.checks.find((c) => c.name === 'safety sets')).toMatchObject({ result: 'passed', detail: expect.stringContaining(safetyIds[0]!) });

    // The message ends with the exact roll-back command; running it restores the damaged state.
    const rollback = `pgtaos-backup restore ${safetyIds[0]} --target mystocks --confirm mystocks`;
    expect(result.message.endsWith(`To roll back: ${rollback}`)).toBe(true);
    const back = await run(ws, rollback.split(' ').slice(1), env());
    expect(back.code, back.stderr).toBe(0);
    expect(await count('public.daily_bars')).toBe(damagedBars);
    expect(await count('analytics.factor_scores')).toBe(0);
    await repair(ws, set.id);
  });

  it('into a database that does not exist: created, no safety set needed, counts match', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    const r = await run(ws, ['restore', set.id, '--target', 'mystocks_copy', '--confirm', 'mystocks_copy', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(json<RunResult>(r).checks.find((c) => c.name === 'safety set')).toMatchObject({ result: 'skipped' });
    for (const [t, n] of Object.entries(seeded.tables)) expect(await count(t, 'mystocks_copy'), t).toBe(n);
  });

  it('a failed safety set stops the restore before the target is touched: a damaged table the dump holds stays damaged', async () => {
    const ws2 = workspace(pgc, 'mystocks');
    const good = await backupSet(ws2, env());
    const damaged = await damage();
    // Same root as the good set, but a config that cannot make a safety set (free-space floor).
    const ws3 = workspace(pgc, 'mystocks', { root: ws2.root, min_free_gb: 1_000_000 });
    const r = await run(ws3, ['restore', good.id, '--target', 'mystocks', '--confirm', 'mystocks'], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/only .* free/);
    expect(r.stderr).toContain(`the restore of ${good.id} had not started: mystocks was not touched`);
    // public.daily_bars is in the dump: had pg_restore --clean run, it would be whole again.
    expect(await count('public.daily_bars')).toBe(damaged);
    expect(setDirs(ws2, 'safety')).toEqual([]);
    await repair(ws2, good.id);
  });

  it('-j from postgres.jobs reaches pg_restore (its real argv), which fills the new database, never with --clean', async () => {
    const argvFile = path.join(workspace(null, 'x').dir, 'argv');
    const ws = workspace(pgc, 'mystocks');
    withPostgres(ws, { jobs: 3, bin_dir: fakeBinDir(pgc.clientBinDir, { pg_restore: behave.recordLine(argvFile) }) });
    const set = await backupSet(ws, env());
    const r = await run(ws, ['restore', set.id, '--target', 'mystocks', '--confirm', 'mystocks'], env());
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(argvFile, 'utf8').split('\n').filter(Boolean);
    const restores = lines.filter((l) => !l.startsWith('--list'));
    expect(restores).toHaveLength(1);
    expect(restores[0]).toMatch(/(^| )-j 3( |$)/);
    expect(restores[0]).toContain(' -d mystocks_pgtaos_new ');
    for (const l of lines) expect(l).not.toMatch(/--clean|(^| )-c( |$)/);
  });

  it('pg_restore fails part-way after the safety set: exit 1, the target not touched (still damaged), the new copy dropped, the lock released', async () => {
    // The real pg_restore runs (the new database is filled), then the wrapper reports a failure.
    const ws = workspace(pgc, 'mystocks');
    withPostgres(ws, { jobs: 2, bin_dir: fakeBinDir(pgc.clientBinDir, { pg_restore: 'case "$1" in --list) exec "$REAL" "$@";; esac\n"$REAL" "$@"\necho "pg_restore: error: connection to server lost" >&2\nexit 1' }) });
    const set = await backupSet(ws, env());
    const damaged = await damage();
    const r = await run(ws, ['restore', set.id, '--target', 'mystocks', '--confirm', 'mystocks', '--json'], env());
    expect(r.code).toBe(1);
    expect(setDirs(ws, 'safety')).toHaveLength(1);
    const result = json<RunResult>(r);
    expect(result.status).toBe('failure');
    expect(result.error!.message.split('\n')[0]).toBe(`pg_restore into mystocks_pgtaos_new failed (exit 1); mystocks was not touched (the restore of ${set.id} was filling a new database, mystocks_pgtaos_new, which is dropped):`);
    expect(result.error!.stderr_tail).toContain('pg_restore: error: connection to server lost');
    expect(result.error!.hint).not.toContain('roll back');
    expect(r.stderr).not.toContain('partly restored');
    expect(lockFiles(ws.root)).toEqual([]);
    expect(await count('public.daily_bars')).toBe(damaged);
    expect(await databases()).not.toContain('mystocks_pgtaos_new');
    await repair(workspace(pgc, 'mystocks', { root: ws.root }), set.id);
  });

  it('SIGTERM while pg_restore runs: pg_restore stopped, cancelled, the target not touched, the new copy dropped', async () => {
    // pg_restore restores, then stays (as a slow one would) until the tool stops it.
    const ws = workspace(pgc, 'mystocks');
    withPostgres(ws, { jobs: 2, bin_dir: fakeBinDir(pgc.clientBinDir, { pg_restore: 'case "$1" in --list) exec "$REAL" "$@";; esac\n"$REAL" "$@"\nexec sleep 600' }) });
    const set = await backupSet(ws, env());
    const damaged = await damage();
    const started = launch(ws, ['restore', set.id, '--target', 'mystocks', '--confirm', 'mystocks'], env());
    const { r } = await interrupt(started, 'SIGTERM', (cmd) => cmd.startsWith('sleep 600'), { what: 'pg_restore to be running' });
    expect(r.code).toBe(1);
    expect(setDirs(ws, 'safety')).toHaveLength(1);
    expect(r.stderr).toContain('received SIGTERM');
    expect(r.stderr).toContain(`cancelled by SIGTERM; mystocks was not touched (the restore of ${set.id} was filling a new database, mystocks_pgtaos_new, which is dropped)`);
    expect(lastHint(r.stderr)).toContain('mystocks is as it was');
    const report = reportOf(ws, 'restore', started.child.pid!);
    expect(report).toMatchObject({ status: 'cancelled', error: { code: 'restore.cancelled' } });
    expect(lockFiles(ws.root)).toEqual([]);
    expect(incompleteDirs(ws)).toEqual([]);
    expect(await count('public.daily_bars')).toBe(damaged);
    expect(await databases()).not.toContain('mystocks_pgtaos_new');
    await repair(workspace(pgc, 'mystocks', { root: ws.root }), set.id);
  });
});

describe('TimescaleDB', () => {
  it('a set made with TimescaleDB, and a target server without it: exit 1 naming the extension and version, nothing touched', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws, env());
    const mf = path.join(set.path, 'manifest.json');
    const m = readJson<Manifest>(mf);
    m.postgres!.extensions.push({ name: 'timescaledb', version: '2.17.2' });
    writeFileSync(mf, JSON.stringify(m));
    const r = await run(ws, ['restore', set.id, '--target', 'ts_target', '--confirm', 'ts_target'], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no timescaledb extension, which the dump needs (it was made with timescaledb 2.17.2)');
    expect((await pgc.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_database WHERE datname = 'ts_target'"))[0]!.n).toBe('0');
    const v = await run(ws, ['verify', set.id], env());
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('has no timescaledb extension');
  });
});
