/** restore: exact confirmation, a safety set first, counts compared, a roll-back command that works. */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { cli, json, readJson, userEnv, workspace } from '../helpers/tool.js';
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

async function count(table: string, db = 'mystocks'): Promise<number> {
  return Number((await pgc.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`, db))[0]!.n);
}

describe('restore', () => {
  it('refuses without the exact confirmation: exit 2, nothing touched, no safety set', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir })).set!;
    for (const confirm of ['mystock', 'MYSTOCKS', 'mystocks ']) {
      const r = await cli(['restore', set.id, '--target', 'mystocks', '--confirm', confirm], { env: userEnv(pgc), cwd: ws.dir });
      expect(r.code, confirm).toBe(2);
      expect(r.stderr).toContain('does not repeat the target');
    }
    const missing = await cli(['restore', set.id, '--target', 'mystocks'], { env: userEnv(pgc), cwd: ws.dir });
    expect(missing.code).toBe(2);
    expect(existsSync(path.join(ws.root, 'safety'))).toBe(false);
  });

  it('data corruption: restores the set over the damaged database after a safety set, and the printed roll-back command brings the damaged state back', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir })).set!;
    // Damage: rows lost, a table emptied.
    await pgc.psql("DELETE FROM public.daily_bars WHERE trade_date > (SELECT min(trade_date) FROM public.daily_bars); DELETE FROM analytics.factor_scores;", 'mystocks');
    const damagedBars = await count('public.daily_bars');
    expect(damagedBars).toBeLessThan(seeded.tables['public.daily_bars']!);

    const r = await cli(['restore', set.id, '--target', 'mystocks', '--confirm', 'mystocks', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const result = json<RunResult>(r);
    expect(result.checks.map((c) => [c.name, c.result])).toEqual([
      ['safety set', 'passed'],
      ['postgres restore', 'passed'],
      ['postgres row counts', 'passed'],
    ]);
    for (const [t, n] of Object.entries(seeded.tables)) expect(await count(t), t).toBe(n);

    // The safety set holds the damaged state, and is listed.
    const safetyIds = readdirSync(path.join(ws.root, 'safety'));
    expect(safetyIds).toHaveLength(1);
    const safety = readJson<Manifest>(path.join(ws.root, 'safety', safetyIds[0]!, 'manifest.json'));
    expect(safety.kind).toBe('safety');
    expect(safety.postgres!.tables.find((t) => t.name === 'public.daily_bars')!.rows).toBe(damagedBars);
    const listed = json<{ sets: { id: string; kind: string }[] }>(await cli(['list', '--json'], { env: userEnv(null), cwd: ws.dir }));
    expect(listed.sets.some((s) => s.kind === 'safety' && s.id === safetyIds[0])).toBe(true);
    const st = json<RunResult>(await cli(['status', '--json'], { env: userEnv(pgc), cwd: ws.dir }));
    expect(st.checks.find((c) => c.name === 'safety sets')).toMatchObject({ result: 'passed', detail: expect.stringContaining(safetyIds[0]!) });

    // The message ends with the exact roll-back command; running it restores the damaged state.
    const rollback = `pgtaos-backup restore ${safetyIds[0]} --target mystocks --confirm mystocks`;
    expect(result.message).toContain(rollback);
    const back = await cli(rollback.split(' ').slice(1), { env: userEnv(pgc), cwd: ws.dir });
    expect(back.code, back.stderr).toBe(0);
    expect(await count('public.daily_bars')).toBe(damagedBars);
    expect(await count('analytics.factor_scores')).toBe(0);
    // Put production back for the other tests.
    const again = await cli(['restore', set.id, '--target', 'mystocks', '--confirm', 'mystocks'], { env: userEnv(pgc), cwd: ws.dir });
    expect(again.code, again.stderr).toBe(0);
  });

  it('into a database that does not exist: created, no safety set needed, counts match', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir })).set!;
    const r = await cli(['restore', set.id, '--target', 'mystocks_copy', '--confirm', 'mystocks_copy', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(json<RunResult>(r).checks[0]).toMatchObject({ name: 'safety set', result: 'skipped' });
    for (const [t, n] of Object.entries(seeded.tables)) expect(await count(t, 'mystocks_copy'), t).toBe(n);
  });

  it('a failed safety set stops the restore before the target is touched', async () => {
    const ws2 = workspace(pgc, 'mystocks');
    const good = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws2.dir })).set!;
    await pgc.psql('CREATE TABLE public.marker (x int); INSERT INTO public.marker VALUES (1);', 'mystocks');
    // Same root as the good set, but a config that cannot make a safety set (free-space floor).
    const ws3 = workspace(pgc, 'mystocks', { root: ws2.root, min_free_gb: 1_000_000 });
    const r = await cli(['restore', good.id, '--target', 'mystocks', '--confirm', 'mystocks'], { env: userEnv(pgc), cwd: ws3.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/only .* free/);
    expect(await count('public.marker')).toBe(1); // untouched: the restore never started
    await pgc.psql('DROP TABLE public.marker;', 'mystocks');
  });
});

describe('TimescaleDB', () => {
  it('a set made with TimescaleDB, and a target server without it: exit 1 naming the extension and version, nothing touched', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir })).set!;
    const mf = path.join(set.path, 'manifest.json');
    const m = readJson<Manifest>(mf);
    m.postgres!.extensions.push({ name: 'timescaledb', version: '2.17.2' });
    writeFileSync(mf, JSON.stringify(m));
    const r = await cli(['restore', set.id, '--target', 'ts_target', '--confirm', 'ts_target'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no timescaledb extension, which the dump needs (it was made with timescaledb 2.17.2)');
    expect((await pgc.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_database WHERE datname = 'ts_target'"))[0]!.n).toBe('0');
    const v = await cli(['verify', set.id], { env: userEnv(pgc), cwd: ws.dir });
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('has no timescaledb extension');
  });
});
