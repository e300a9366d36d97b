/**
 * backup and list through the built CLI against real throwaway PostgreSQL clusters.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { cli, incompleteDirs, json, readJson, setDirs, start, userEnv, workspace } from '../helpers/tool.js';
import { sha256File } from '../../src/catalog/checksum.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

let pgc: Cluster;
let seeded: MarketDataResult;

beforeAll(async () => {
  pgc = await startCluster({ name: 'backup' });
  await pgc.createDb('mystocks');
  seeded = await seedMarketData(pgc, 'mystocks');
  // A large object is in the seed: pg_dump -b must carry it.
  expect(seeded.largeObjects).toBeGreaterThan(0);
});
afterAll(async () => {
  await pgc?.destroy();
});


async function restoreCounts(cluster: Cluster, file: string, db: string, tables: string[]): Promise<Record<string, number>> {
  await cluster.createDb(db);
  const r = spawnSync(path.join(cluster.clientBinDir, 'pg_restore'), ['-h', cluster.host, '-p', String(cluster.port), '-U', cluster.user, '-d', db, '--exit-on-error', file], { env: cluster.env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = Number((await cluster.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}`, db))[0]!.n);
  return out;
}

describe('backup', () => {
  it('writes a set whose manifest matches the database and which restores with stock pg_restore', async () => {
    const ws = workspace(pgc, 'mystocks');
    const r = await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const result = json<RunResult>(r);
    expect(result.status).toBe('success');
    const set = result.set!;
    expect(set.id).toMatch(/^mystocks_\d{8}_\d{6}$/);
    expect(set.path).toBe(path.join(ws.root, 'daily', set.id));

    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    expect(m).toMatchObject({ format: 1, id: set.id, kind: 'daily', status: 'complete', timezone: 'Asia/Shanghai', git: null });
    expect(m.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$/);
    expect(m.postgres!.server_version).toBe(pgc.version);
    expect(m.postgres!.client_version).toMatch(/^\d+\.\d+$/);
    expect(m.postgres!.archive_version).toMatch(/^1\.\d+$/);
    expect(Object.fromEntries(m.postgres!.tables.map((t) => [t.name, t.rows]))).toEqual(seeded.tables);
    expect(m.postgres!.large_objects).toBe(seeded.largeObjects);
    const file = m.postgres!.files[0]!;
    expect(file.path).toBe('mystocks.dump');
    expect(file.sha256).toBe(await sha256File(path.join(set.path, file.path)));
    expect(m.bytes).toBe(file.bytes);

    // The log and the report of the run are under <root>/logs/.
    expect(result.log_path && existsSync(result.log_path)).toBe(true);
    expect(readJson<RunResult>(result.report_path!).set?.id).toBe(set.id);

    // Stock tools alone bring it back.
    const restored = await restoreCounts(pgc, path.join(set.path, file.path), 'restored_by_hand', Object.keys(seeded.tables));
    expect(restored).toEqual(seeded.tables);
    const lo = await pgc.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_largeobject_metadata', 'restored_by_hand');
    expect(Number(lo[0]!.n)).toBe(seeded.largeObjects);
  });

  it('list shows sets newest first, in the SPEC shape, for people and for --json', async () => {
    const ws = workspace(pgc, 'mystocks');
    const a = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir }));
    await new Promise((r) => setTimeout(r, 1100)); // distinct second in the name
    const b = json<RunResult>(await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir }));
    const l = await cli(['list', '--json'], { env: userEnv(null), cwd: ws.dir });
    expect(l.code).toBe(0);
    const sets = json<{ sets: Record<string, unknown>[] }>(l).sets;
    expect(sets.map((s) => s.id)).toEqual([b.set!.id, a.set!.id]);
    for (const key of ['id', 'kind', 'milestone', 'status', 'created_at', 'path', 'bytes', 'verified_at']) expect(sets[0]).toHaveProperty(key);
    expect(sets[0]).toMatchObject({ kind: 'daily', status: 'complete', milestone: null, verified_at: null, path: b.set!.path });
    const human = await cli(['list'], { env: userEnv(null), cwd: ws.dir });
    expect(human.stdout.split('\n')[0]).toMatch(/^SET\s+KIND\s+STATUS/);
    expect(human.stdout).toContain(b.set!.id);
  });

  it('counts and dump are the same point in time while rows are being written', async () => {
    await pgc.createDb('busy');
    await pgc.psql('CREATE TABLE ticks (id bigserial PRIMARY KEY, v int); INSERT INTO ticks (v) SELECT g FROM generate_series(1, 600000) g;', 'busy');
    const ws = workspace(pgc, 'busy');
    const writer = new pg.Client({ host: pgc.host, port: pgc.port, user: pgc.user, password: pgc.password, database: 'busy' });
    await writer.connect();
    let writing = true;
    let inserted = 0;
    const loop = (async () => {
      while (writing) {
        await writer.query('INSERT INTO ticks (v) SELECT g FROM generate_series(1, 200) g');
        inserted += 200;
      }
    })();
    const r = await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    const insertedDuringRun = inserted;
    writing = false;
    await loop;
    await writer.end();
    expect(r.code, r.stderr).toBe(0);
    expect(insertedDuringRun).toBeGreaterThan(0);
    const set = json<RunResult>(r).set!;
    const m = readJson<Manifest>(path.join(set.path, 'manifest.json'));
    const counted = m.postgres!.tables.find((t) => t.name === 'public.ticks')!.rows;
    const now = Number((await pgc.query<{ n: string }>('SELECT count(*)::text AS n FROM ticks', 'busy'))[0]!.n);
    expect(now).toBeGreaterThan(counted); // rows kept arriving after the snapshot
    const restored = await restoreCounts(pgc, path.join(set.path, 'busy.dump'), 'busy_restored', ['public.ticks']);
    expect(restored['public.ticks']).toBe(counted);
  });
});

describe('backup refuses bad input and changes nothing', () => {
  it('an unknown config key: exit 2, the key and the file named, no root created', async () => {
    const ws = workspace(pgc, 'mystocks', { retension: { daily_days: 7 } });
    const r = await cli(['backup'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('retension: unknown key');
    expect(r.stderr).toContain(ws.configFile);
    expect(existsSync(ws.root)).toBe(false);
  });

  it('an unknown command or flag: exit 2', async () => {
    const ws = workspace(pgc, 'mystocks');
    expect((await cli(['bakup'], { env: userEnv(pgc), cwd: ws.dir })).code).toBe(2);
    expect((await cli(['backup', '--engines', 'mysql'], { env: userEnv(pgc), cwd: ws.dir })).code).toBe(2);
    expect((await cli(['backup', '--postgres-port', 'x'], { env: userEnv(pgc), cwd: ws.dir })).code).toBe(2);
    expect(existsSync(ws.root)).toBe(false);
  });

  it('--help works on every command', async () => {
    for (const c of ['backup', 'milestone', 'config', 'verify', 'prune', 'status', 'list', 'import', 'restore']) {
      const r = await cli([c, '--help'], { env: userEnv(null), cwd: '/' });
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain(`Usage: pgtaos-backup ${c}`);
    }
  });

  it('a missing pg_dump: exit 2 before any connection (the port has no server)', async () => {
    const ws = workspace(null, 'mystocks', { postgres: { host: '127.0.0.1', port: 1, database: 'mystocks', bin_dir: '/nonexistent/bin' } });
    const r = await cli(['backup'], { env: userEnv(null), cwd: ws.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pg_dump not found in bin_dir /nonexistent/bin');
    expect(setDirs(ws)).toEqual([]);
  });

  it('an unreachable server: exit 1 with what to check, no set', async () => {
    const ws = workspace(null, 'mystocks', { postgres: { host: '127.0.0.1', port: 1, database: 'mystocks' } });
    const r = await cli(['backup'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot connect to PostgreSQL at postgres@127.0.0.1:1/mystocks');
    expect(r.stderr).toContain('pg_isready');
    expect(setDirs(ws)).toEqual([]);
    expect(incompleteDirs(ws)).toEqual([]);
  });

  it('a wrong password: exit 1, refused login named', async () => {
    const ws = workspace(pgc, 'mystocks');
    const r = await cli(['backup'], { env: userEnv(pgc, { PGPASSWORD: 'not-the-password' }), cwd: ws.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PostgreSQL refused the login');
    expect(r.stderr).toContain('PGPASSWORD');
    expect(setDirs(ws)).toEqual([]);
  });

  it('too little free space: exit 1 before dumping, no set', async () => {
    const ws = workspace(pgc, 'mystocks', { min_free_gb: 1_000_000 });
    const r = await cli(['backup'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/only .* free on .*; this backup needs at least/);
    expect(setDirs(ws)).toEqual([]);
    expect(incompleteDirs(ws)).toEqual([]);
  });

  it('a lock held by a live run: exit 1 naming it; a stale lock is taken over with a message', async () => {
    const ws = workspace(pgc, 'mystocks');
    const { procStart } = await import('../../src/catalog/lock.js');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(ws.root, { recursive: true });
    const lock = path.join(ws.root, '.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, hostname: os.hostname(), proc_start: procStart(process.pid), command: 'backup', started_at: '2026-01-01T00:00:00Z' }));
    const held = await cli(['backup'], { env: userEnv(pgc), cwd: ws.dir });
    expect(held.code).toBe(1);
    expect(held.stderr).toContain(`another pgtaos-backup run holds ${lock}`);
    expect(existsSync(lock)).toBe(true);
    expect(setDirs(ws)).toEqual([]);

    const dead = spawnSync('true');
    writeFileSync(lock, JSON.stringify({ pid: dead.pid, hostname: os.hostname(), proc_start: '1', command: 'backup', started_at: '2026-01-01T00:00:00Z' }));
    const took = await cli(['backup'], { env: userEnv(pgc), cwd: ws.dir });
    expect(took.code, took.stderr).toBe(0);
    expect(took.stderr).toContain('took over a stale lock');
    expect(existsSync(lock)).toBe(false);
    expect(setDirs(ws)).toHaveLength(1);
  });
});

describe('secrets', () => {
  it('the password is never in argv, in a file the tool writes, or in its output', async () => {
    const secret = pgc.password;
    const ws = workspace(pgc, 'mystocks');
    const run = start(path.join(process.cwd(), 'dist', 'cli.js'), ['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    const seen: string[] = [];
    let sawPgDump = false;
    const poll = setInterval(() => {
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (cmd.includes('pg_dump')) sawPgDump = true;
        if (cmd.includes(secret)) seen.push(cmd.replace(/\0/g, ' '));
      }
    }, 5);
    const r = await run.done;
    clearInterval(poll);
    expect(r.code, r.stderr).toBe(0);
    expect(seen).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(secret);
    const files = spawnSync('grep', ['-rl', '--', secret, ws.root], { encoding: 'utf8' });
    expect(files.stdout).toBe('');
    expect(files.status).toBe(1); // grep: searched, nothing found
    // The poll did watch the dump (so an argv leak would have been caught), unless pg_dump was faster than 5 ms.
    if (!sawPgDump) console.warn('pg_dump finished before the argv poll saw it');
  });
});
