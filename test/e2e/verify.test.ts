/** verify against real PostgreSQL: it passes on a good set and fails, naming the fault, on each seeded one. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedLarge, seedMarketData } from '../helpers/market-data.js';
import { cli, json, readJson, start, userEnv, workspace, type Workspace } from '../helpers/tool.js';
import { sha256File } from '../../src/catalog/checksum.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
beforeAll(async () => {
  pgc = await startCluster({ name: 'verify' });
  await pgc.createDb('mystocks');
  await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
});

async function databases(c: Cluster): Promise<string[]> {
  return (await c.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).map((r) => r.datname);
}

/** A fingerprint of the production data: any write to it changes this. */
async function fingerprint(c: Cluster): Promise<string> {
  const r = await c.query<{ f: string }>(
    "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) || ':' || (SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables) AS f FROM public.daily_bars t",
    'mystocks',
  );
  return r[0]!.f;
}

async function backupSet(ws: Workspace): Promise<NonNullable<RunResult['set']>> {
  const r = await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir });
  expect(r.code, r.stderr).toBe(0);
  return json<RunResult>(r).set!;
}

describe('verify', () => {
  it('a good set verifies; the outcome is recorded beside it and shown by list; the scratch database is gone; production untouched', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    const before = await fingerprint(pgc);
    const r = await cli(['verify', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const result = json<RunResult>(r);
    expect(result.set?.id).toBe(set.id);
    expect(result.checks.map((c) => [c.name, c.result])).toEqual([
      ['checksum mystocks.dump', 'passed'],
      ['postgres restore', 'passed'],
      ['postgres row counts', 'passed'],
      ['postgres large objects', 'passed'],
    ]);
    expect(await databases(pgc)).not.toContain('mystocks_verify');
    expect(await fingerprint(pgc)).toBe(before);
    const v = readJson<{ result: string; verified_at: string }>(path.join(set.path, 'verification.json'));
    expect(v.result).toBe('passed');
    const listed = json<{ sets: { id: string; verified_at: string | null }[] }>(await cli(['list', '--json'], { env: userEnv(null), cwd: ws.dir }));
    expect(listed.sets[0]).toMatchObject({ id: set.id, verified_at: v.verified_at });
    // The manifest was not rewritten.
    expect(readJson<Manifest>(path.join(set.path, 'manifest.json')).id).toBe(set.id);
  });

  it('a flipped byte is caught by the checksum and the file is named; exit 1', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    const file = path.join(set.path, 'mystocks.dump');
    const buf = readFileSync(file);
    buf[Math.floor(buf.length / 2)] ^= 0x01;
    writeFileSync(file, buf);
    const r = await cli(['verify', set.id, '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code).toBe(1);
    const result = json<RunResult>(r);
    expect(result.status).toBe('failure');
    expect(result.checks[0]).toMatchObject({ name: 'checksum mystocks.dump', result: 'failed' });
    expect(result.message).toContain('mystocks.dump: sha256');
    expect(result.message).toContain('damaged');
    expect(readJson<{ result: string }>(path.join(set.path, 'verification.json')).result).toBe('failed');
  });

  it('a dump whose checksum matches but which lost a table\'s data: the restore comparison names the table; exit 1; scratch gone', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    // Replace the dump with one missing daily_bars' rows, and make the manifest's checksum agree,
    // as a dump truncated before the manifest was written would look.
    const file = path.join(set.path, 'mystocks.dump');
    const d = spawnSync(path.join(pgc.clientBinDir, 'pg_dump'), ['-Fc', '-b', '-h', pgc.host, '-p', String(pgc.port), '-U', pgc.user, '-d', 'mystocks', '--exclude-table-data=public.daily_bars', '-f', file], { env: pgc.env, encoding: 'utf8' });
    expect(d.status, d.stderr).toBe(0);
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    m.postgres!.files[0]!.sha256 = await sha256File(file);
    m.postgres!.files[0]!.bytes = readFileSync(file).length;
    writeFileSync(path.join(set.path, 'manifest.json'), JSON.stringify(m));

    const r = await cli(['verify', set.id, '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code).toBe(1);
    const result = json<RunResult>(r);
    expect(result.checks.find((c) => c.name === 'postgres row counts')).toMatchObject({ result: 'failed', detail: '1 tables differ: public.daily_bars' });
    expect(r.stderr).toMatch(/public\.daily_bars\s+600\s+0/);
    expect(await databases(pgc)).not.toContain('mystocks_verify');
  });

  it('a table that did not come back at all, or an extra one, fails too', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    m.postgres!.tables.push({ name: 'public.ghost', rows: 5 });
    m.postgres!.tables = m.postgres!.tables.filter((t) => t.name !== 'public.stocks');
    writeFileSync(path.join(set.path, 'manifest.json'), JSON.stringify(m));
    const r = await cli(['verify', set.id], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/public\.ghost\s+5\s+\(missing\)/);
    expect(r.stderr).toMatch(/public\.stocks\s+\(not in manifest\)\s+20/);
  });

  it('a scratch database equal to production: exit 2 before any connection', async () => {
    const ws = workspace(null, 'mystocks', { postgres: { host: '127.0.0.1', port: 1, database: 'mystocks', scratch_database: 'mystocks' } });
    const r = await cli(['verify'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('postgres.scratch_database: mystocks is a production database');
  });

  it('an unknown set id: exit 2 and a pointer to list', async () => {
    const ws = workspace(pgc, 'mystocks');
    const r = await cli(['verify', 'mystocks_20000101_000000'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pgtaos-backup list');
    expect((await cli(['verify', '../../etc'], { env: userEnv(pgc), cwd: ws.dir })).code).toBe(2);
  });
});

describe('verify cancelled', () => {
  let big: Cluster;
  beforeAll(async () => {
    big = await startCluster({ name: 'verify-big' });
    await big.createDb('mystocks');
    await seedLarge(big, 'mystocks', 150);
  });
  afterAll(async () => {
    await big?.destroy();
  });

  it('SIGTERM during the restore leaves no scratch database and no lock', async () => {
    const ws = workspace(big, 'mystocks');
    const b = await cli(['backup'], { env: userEnv(big), cwd: ws.dir });
    expect(b.code, b.stderr).toBe(0);
    const run = start(path.join(process.cwd(), 'dist', 'cli.js'), ['verify'], { env: userEnv(big), cwd: ws.dir });
    // Wait until the scratch database exists and pg_restore is loading it.
    for (let i = 0; i < 400 && !(await databases(big)).includes('mystocks_verify'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await databases(big)).toContain('mystocks_verify');
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('received SIGTERM');
    expect(r.stderr).toContain('dropped scratch database mystocks_verify');
    expect(await databases(big)).not.toContain('mystocks_verify');
    const { existsSync } = await import('node:fs');
    expect(existsSync(path.join(ws.root, '.lock'))).toBe(false);
  });
});
