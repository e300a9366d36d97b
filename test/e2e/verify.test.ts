/** verify against real PostgreSQL: it passes on a good set and fails, naming the fault, on each seeded one. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupSet as backupSetIn } from '../helpers/faults.js';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedLarge, seedMarketData } from '../helpers/market-data.js';
import { CLI, cli, json, readJson, start, userEnv, withPostgres, workspace, type Workspace } from '../helpers/tool.js';
import { sha256File } from '../../src/catalog/checksum.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
beforeAll(async () => {
  // DDL statements in the server log: proof of whether verify created its scratch database.
  pgc = await startCluster({ name: 'verify', settings: { log_statement: 'ddl' } });
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

/** What the server logged while `fn` ran. */
async function serverLogDuring(c: Cluster, fn: () => Promise<void>): Promise<string> {
  const from = statSync(c.logFile).size;
  await fn();
  return readFileSync(c.logFile, 'utf8').slice(from);
}

const backupSet = (ws: Workspace) => backupSetIn(ws, userEnv(pgc));

describe('verify', () => {
  it('a good set verifies; the outcome is recorded beside it and shown by list; the scratch database is gone; production untouched', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    const before = await fingerprint(pgc);
    const manifestBytes = readFileSync(path.join(set.path, 'manifest.json'));
    const r = await cli(['verify', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const result = json<RunResult>(r);
    expect(result.set?.id).toBe(set.id);
    expect(result.checks.map((c) => [c.name, c.result])).toEqual([
      ['checksum mystocks.dump', 'passed'],
      ['checksum globals.sql', 'passed'],
      ['postgres restore', 'passed'],
      ['postgres row counts', 'passed'],
      ['postgres large objects', 'passed'],
      ['postgres globals', 'passed'],
    ]);
    expect(await databases(pgc)).not.toContain('mystocks_verify');
    expect(await fingerprint(pgc)).toBe(before);
    const v = readJson<{ result: string; verified_at: string }>(path.join(set.path, 'verification.json'));
    expect(v.result).toBe('passed');
    const listed = json<{ sets: { id: string; verified_at: string | null }[] }>(await cli(['list', '--json'], { env: userEnv(null), cwd: ws.dir }));
    expect(listed.sets[0]).toMatchObject({ id: set.id, verified_at: v.verified_at });
    // The manifest was not rewritten: the same bytes.
    expect(readFileSync(path.join(set.path, 'manifest.json')).equals(manifestBytes)).toBe(true);
  });

  it('a scratch database left by an earlier run (with a junk table in it) is replaced, the set still verifies, and it is gone after', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    await pgc.createDb('mystocks_verify');
    await pgc.psql('CREATE TABLE junk (x int); INSERT INTO junk VALUES (1), (2);', 'mystocks_verify');
    const r = await cli(['verify', set.id, '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(json<RunResult>(r).checks.find((c) => c.name === 'postgres row counts')).toMatchObject({ result: 'passed' });
    expect(await databases(pgc)).not.toContain('mystocks_verify');
  });

  it('postgres.jobs reaches pg_restore as -j; jobs 1 gives no -j', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    const restoreLine = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('$ pg_restore '));
    withPostgres(ws, { jobs: 3 });
    const three = await cli(['verify', set.id], { env: userEnv(pgc), cwd: ws.dir });
    expect(three.code, three.stderr).toBe(0);
    expect(restoreLine(three.stderr)).toEqual([expect.stringMatching(/^\$ pg_restore .* -d mystocks_verify --exit-on-error -j 3 --no-owner --no-acl \S+mystocks\.dump$/)]);
    withPostgres(ws, { jobs: 1 });
    const one = await cli(['verify', set.id], { env: userEnv(pgc), cwd: ws.dir });
    expect(one.code, one.stderr).toBe(0);
    expect(restoreLine(one.stderr)).toHaveLength(1);
    expect(restoreLine(one.stderr)[0]).not.toMatch(/ -j /);
  });

  const damaged: { name: string; damage: (file: string) => void; detail: RegExp }[] = [
    { name: 'a truncated dump (its size is named)', damage: (f) => truncateSync(f, Math.floor(statSync(f).size / 2)), detail: /^mystocks\.dump: \d+ bytes, manifest says \d+$/ },
    { name: 'a deleted dump ("missing")', damage: (f) => rmSync(f), detail: /^mystocks\.dump: missing$/ },
  ];
  it.each(damaged)('$name: exit 1, and no restore is attempted (no scratch database is created)', async ({ damage, detail }) => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    damage(path.join(set.path, 'mystocks.dump'));
    let r!: Awaited<ReturnType<typeof cli>>;
    const serverLog = await serverLogDuring(pgc, async () => {
      r = await cli(['verify', set.id, '--json'], { env: userEnv(pgc), cwd: ws.dir });
    });
    expect(r.code, r.stderr).toBe(1);
    const result = json<RunResult>(r);
    expect(result.checks).toEqual([{ name: 'checksum mystocks.dump', result: 'failed', detail: expect.stringMatching(detail) }, expect.objectContaining({ name: 'checksum globals.sql', result: 'passed' })]);
    expect(result.message).toMatch(new RegExp(detail.source.replace(/^\^|\$$/g, '')));
    expect(r.stderr).not.toContain('$ pg_restore');
    expect(serverLog).not.toContain('CREATE DATABASE');
    expect(serverLog).not.toContain('mystocks_verify');
    expect(readJson<{ result: string }>(path.join(set.path, 'verification.json')).result).toBe('failed');
  });

  it('a large-object count that differs from the manifest fails', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    const real = m.postgres!.large_objects;
    m.postgres!.large_objects = real + 1;
    writeFileSync(path.join(set.path, 'manifest.json'), JSON.stringify(m));
    const r = await cli(['verify', set.id, '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(1);
    const result = json<RunResult>(r);
    expect(result.checks.find((c) => c.name === 'postgres row counts')).toMatchObject({ result: 'passed' });
    expect(result.checks.find((c) => c.name === 'postgres large objects')).toEqual({ name: 'postgres large objects', result: 'failed', detail: `${real} restored, manifest says ${real + 1}` });
    expect(await databases(pgc)).not.toContain('mystocks_verify');
  });

  it('verification.json holds no secret, even when a check quotes one', async () => {
    const ws = workspace(pgc, 'mystocks');
    const set = await backupSet(ws);
    // A secret that a check's detail will quote: the name of a table the manifest expects.
    const secret = 'Zq9SecretTable';
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    m.postgres!.tables.push({ name: `public.${secret}`, rows: 5 });
    writeFileSync(path.join(set.path, 'manifest.json'), JSON.stringify(m));
    const r = await cli(['verify', set.id, '--json'], { env: userEnv(pgc, { AWS_SECRET_ACCESS_KEY: secret }), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(1);
    const text = readFileSync(path.join(set.path, 'verification.json'), 'utf8');
    expect(text).toContain('1 tables differ: public.***');
    expect(text).not.toContain(secret);
    expect(r.stdout + r.stderr).not.toContain(secret);
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
  let ws: Workspace;
  beforeAll(async () => {
    big = await startCluster({ name: 'verify-big' });
    await big.createDb('mystocks');
    await seedLarge(big, 'mystocks', 150);
    ws = workspace(big, 'mystocks');
    const b = await cli(['backup'], { env: userEnv(big), cwd: ws.dir });
    expect(b.code, b.stderr).toBe(0);
  });
  afterAll(async () => {
    await big?.destroy();
  });

  // The runner sends SIGINT on cancel, then SIGTERM 7.5 s later: either one alone must clean up.
  it.each(['SIGINT', 'SIGTERM'] as const)('%s during the restore leaves no scratch database and no lock', async (sig) => {
    const run = start(CLI, ['verify'], { env: userEnv(big), cwd: ws.dir });
    // Wait until the scratch database exists and pg_restore is loading it.
    for (let i = 0; i < 400 && !(await databases(big)).includes('mystocks_verify'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await databases(big)).toContain('mystocks_verify');
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill(sig);
    const r = await run.done;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`received ${sig}`);
    expect(r.stderr).toContain('dropped scratch database mystocks_verify');
    expect(await databases(big)).not.toContain('mystocks_verify');
    expect(existsSync(path.join(ws.root, '.lock'))).toBe(false);
  });
});
