/**
 * backup and list through the built CLI against real throwaway PostgreSQL clusters.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData, type MarketDataResult } from '../helpers/market-data.js';
import { cli, deadLockInfo, incompleteDirs, json, liveLockInfo, readJson, runAction, setDirs, userEnv, withPostgres, workspace, type Workspace } from '../helpers/tool.js';
import { behave, fakeBinDir } from '../helpers/fake-bin.js';
import { writeFakeSet } from '../helpers/fake-catalog.js';
import { localTime } from '../../src/catalog/time.js';
import { formatBytes } from '../../src/shared/format.js';
import { freeBytes } from '../../src/catalog/space.js';
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
    expect(m).toMatchObject({ format: 2, id: set.id, kind: 'daily', status: 'complete', timezone: 'Asia/Shanghai', git: null });
    expect(m.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$/);
    expect(m.postgres!.server_version).toBe(pgc.version);
    expect(m.postgres!.client_version).toMatch(/^\d+\.\d+$/);
    expect(m.postgres!.archive_version).toMatch(/^1\.\d+$/);
    expect(Object.fromEntries(m.postgres!.tables.map((t) => [t.name, t.rows]))).toEqual(seeded.tables);
    expect(m.postgres!.large_objects).toBe(seeded.largeObjects);
    const file = m.postgres!.files[0]!;
    expect(file.path).toBe('mystocks.dump');
    expect(file.sha256).toBe(await sha256File(path.join(set.path, file.path)));
    // The dump, then the cluster's roles and tablespaces (globals.sql); the set's bytes are both.
    const globals = m.postgres!.files[1]!;
    expect(globals.path).toBe('globals.sql');
    expect(globals.sha256).toBe(await sha256File(path.join(set.path, globals.path)));
    expect(m.bytes).toBe(file.bytes + globals.bytes);
    // Where the snapshot lies in the WAL, for point-in-time recovery (verify --pitr's default target):
    // a named restore point (the role is a superuser here), at an LSN the server has passed.
    const wal = m.postgres!.wal!;
    expect(wal.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(wal.restore_point).toMatch(/^pgtaos_mystocks_\d{8}T\d{6}$/);
    expect(Date.parse(wal.at)).toBeGreaterThanOrEqual(Date.parse(m.started_at));
    const behind = await pgc.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS d', 'postgres', [wal.lsn]);
    expect(Number(behind[0]!.d)).toBeGreaterThanOrEqual(0);

    // The log and the report of the run are under <root>/logs/.
    expect(result.log_path && existsSync(result.log_path)).toBe(true);
    expect(readJson<RunResult>(result.report_path!).set?.id).toBe(set.id);

    // Stock tools alone bring it back.
    const restored = await restoreCounts(pgc, path.join(set.path, file.path), 'restored_by_hand', Object.keys(seeded.tables));
    expect(restored).toEqual(seeded.tables);
    const lo = await pgc.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_largeobject_metadata', 'restored_by_hand');
    expect(Number(lo[0]!.n)).toBe(seeded.largeObjects);
  });

  it('list shows sets newest first, in the documented shape (README, Commands), for people and for --json', async () => {
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

  it('list orders by the manifests\' started_at, not by name (wal-g#636)', async () => {
    const ws = workspace(null, 'mystocks');
    const h = 3_600_000;
    // Names sort one way, start times the other; a milestone and a config snapshot in between.
    const sets = [
      { kind: 'daily' as const, id: 'aaa_20200101_000001', startedAt: new Date(Date.now() - 1 * h) },
      { kind: 'milestone' as const, id: 'post_phase2_20990101', startedAt: new Date(Date.now() - 2 * h) },
      { kind: 'daily' as const, id: 'mystocks_20990101_000001', startedAt: new Date(Date.now() - 3 * h) },
      { kind: 'config' as const, id: 'config_20990101_000001', startedAt: new Date(Date.now() - 4 * h) },
      { kind: 'daily' as const, id: 'zzz_20990101_000001', startedAt: new Date(Date.now() - 5 * h) },
    ];
    for (const set of [...sets].reverse()) await writeFakeSet(ws.root, set);
    const l = await cli(['list', '--json'], { env: userEnv(null), cwd: ws.dir });
    expect(l.code, l.stderr).toBe(0);
    expect(json<{ sets: { id: string }[] }>(l).sets.map((x) => x.id)).toEqual(sets.map((x) => x.id));
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
    for (const c of ['backup', 'milestone', 'config', 'verify', 'prune', 'status', 'list', 'import', 'restore', 'check']) {
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

  it('room for a set as big as the last one is needed too: with min_free_gb 0, a last set bigger than the free space stops the backup, named with its size', async () => {
    const ws = workspace(pgc, 'mystocks', { min_free_gb: 0 });
    mkdirSync(ws.root, { recursive: true });
    const bytes = (await freeBytes(ws.root)) + 100 * 1024 ** 4;
    const last = { kind: 'daily' as const, id: 'mystocks_20200101_000003', startedAt: new Date(Date.now() - 3_600_000), bytes };
    await writeFakeSet(ws.root, last);
    const r = await cli(['backup'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/only .* free on .*; this backup needs at least/);
    expect(r.stderr).toContain(`min_free_gb 0; the last set ${last.id} is ${formatBytes(bytes)}`);
    expect(setDirs(ws)).toEqual([last.id]);
    expect(incompleteDirs(ws)).toEqual([]);
  });

  it('a second milestone of the same name on the same day: exit 2 before any connection (no server listens on the port)', async () => {
    const ws = workspace(null, 'mystocks', { postgres: { host: '127.0.0.1', port: 1, database: 'mystocks' } });
    // Today's (and, should the run cross midnight in Shanghai, tomorrow's) milestone already exists.
    for (const at of [new Date(), new Date(Date.now() + 86_400_000)]) {
      await writeFakeSet(ws.root, { kind: 'milestone', id: `post_phase2_${localTime(at, 'Asia/Shanghai').date}`, startedAt: at });
    }
    const r = await cli(['milestone', 'post_phase2'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/milestone set post_phase2_\d{8} already exists/);
    expect(r.stderr).not.toContain('cannot connect');
    expect(setDirs(ws, 'milestone')).toHaveLength(2);
  });

  it('a lock held by a live run: exit 1 naming it; a stale lock is taken over with a message', async () => {
    const ws = workspace(pgc, 'mystocks');
    mkdirSync(ws.root, { recursive: true });
    const lock = path.join(ws.root, '.lock');
    writeFileSync(lock, JSON.stringify(liveLockInfo({ started_at: '2026-01-01T00:00:00Z' })));
    const held = await cli(['backup'], { env: userEnv(pgc), cwd: ws.dir });
    expect(held.code).toBe(1);
    expect(held.stderr).toContain(`another pgtaos-backup run holds ${lock}`);
    expect(existsSync(lock)).toBe(true);
    expect(setDirs(ws)).toEqual([]);

    writeFileSync(lock, JSON.stringify(deadLockInfo({ started_at: '2026-01-01T00:00:00Z' })));
    const took = await cli(['backup'], { env: userEnv(pgc), cwd: ws.dir });
    expect(took.code, took.stderr).toBe(0);
    expect(took.stderr).toContain('took over a stale lock');
    expect(existsSync(lock)).toBe(false);
    expect(setDirs(ws)).toHaveLength(1);
  });
});

describe('secrets', () => {
  it('the password reaches pg_dump by its environment, never its argv; it is in no file the tool writes, nor in its output', async () => {
    const secret = pgc.password;
    const ws = workspace(pgc, 'mystocks');
    // Wrappers record what pg_dump and pg_restore were started with, then exec the real tools.
    const rec = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-argv-'));
    withPostgres(ws, { bin_dir: fakeBinDir(pgc.clientBinDir, { pg_dump: behave.record(path.join(rec, 'pg_dump')), pg_restore: behave.record(path.join(rec, 'pg_restore')) }) });
    const r = await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const argv = readFileSync(path.join(rec, 'pg_dump.argv'), 'utf8');
    const envNames = readFileSync(path.join(rec, 'pg_dump.env'), 'utf8').split('\n');
    // The recording is of the real dump (its snapshot and file), so a leak would be in it.
    const args = argv.split('\n');
    expect(args).toContain('--snapshot');
    // -f: the set's file in its staging folder, <root>/.incomplete/<set id>.<pid>/mystocks.dump.
    const file = args[args.indexOf('-f') + 1]!;
    expect([path.dirname(path.dirname(file)), path.basename(file)]).toEqual([path.join(ws.root, '.incomplete'), 'mystocks.dump']);
    expect(path.basename(path.dirname(file))).toMatch(new RegExp(`^${json<RunResult>(r).set!.id}\\.\\d+$`));
    expect(argv).not.toContain(secret);
    expect(envNames).toContain('PGPASSWORD');
    // pg_restore --list makes no connection: it is not given the password at all.
    expect(readFileSync(path.join(rec, 'pg_restore.argv'), 'utf8')).toContain('--list');
    expect(readFileSync(path.join(rec, 'pg_restore.env'), 'utf8').split('\n')).not.toContain('PGPASSWORD');

    expect(r.stdout + r.stderr).not.toContain(secret);
    const files = spawnSync('grep', ['-rl', '--', secret, ws.root], { encoding: 'utf8' });
    expect(files.stdout).toBe('');
    expect(files.status).toBe(1); // grep: searched, nothing found
  });
});

describe('a dump is complete only when pg_dump exited 0, printed no error, wrote a non-empty file that pg_restore --list reads', () => {
  let ws: Workspace;
  let earlier: { id: string; manifest: string; dump: string };
  beforeAll(async () => {
    ws = workspace(pgc, 'mystocks');
    const r = await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const set = json<RunResult>(r).set!;
    earlier = { id: set.id, manifest: await sha256File(path.join(set.path, 'manifest.json')), dump: await sha256File(path.join(set.path, 'mystocks.dump')) };
  });

  const cases: { name: string; snippet: string; message: RegExp }[] = [
    { name: 'pg_dump exits 0 but prints "pg_dump: error:"', snippet: behave.errorButExit0, message: /pg_dump failed \(exit 0\):\s+pg_dump: error: Dumping the contents of table "daily_bars" failed: simulated/ },
    { name: 'pg_dump leaves a cut file (the table of contents is incomplete)', snippet: behave.truncated, message: /pg_restore --list cannot read .*mystocks\.dump: pg_restore: error: could not read from input file: end of file/ },
    { name: 'pg_dump leaves garbage where the archive should be', snippet: behave.garbage, message: /pg_restore --list cannot read .*mystocks\.dump: pg_restore: error: input file does not appear to be a valid archive/ },
    { name: 'pg_dump leaves an empty file', snippet: behave.empty, message: /pg_dump wrote an empty file .*mystocks\.dump/ },
  ];
  it.each(cases)('$name: exit 1, no set, no leftovers, the earlier set intact, and the message says what', async ({ snippet, message }) => {
    withPostgres(ws, { bin_dir: fakeBinDir(pgc.clientBinDir, { pg_dump: snippet }) });
    const r = await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(1);
    const result = json<RunResult>(r);
    expect(result.status).toBe('failure');
    expect(result.set).toBeNull();
    expect(result.message).toMatch(message);
    expect(r.stderr).toContain('no set was written; partial files removed');
    expect(setDirs(ws)).toEqual([earlier.id]);
    expect(incompleteDirs(ws)).toEqual([]);
    const dir = path.join(ws.root, 'daily', earlier.id);
    expect(await sha256File(path.join(dir, 'manifest.json'))).toBe(earlier.manifest);
    expect(await sha256File(path.join(dir, 'mystocks.dump'))).toBe(earlier.dump);
    const listed = json<{ sets: { id: string; status: string }[] }>(await cli(['list', '--json'], { env: userEnv(null), cwd: ws.dir }));
    expect(listed.sets.map((x) => [x.id, x.status])).toEqual([[earlier.id, 'complete']]);
  });
});

describe('progress', () => {
  it('a dump that takes a few seconds reports the bytes written, inside its ::group:: (postgres.progress_seconds sets the interval)', async () => {
    const ws = workspace(pgc, 'mystocks');
    // The real pg_dump, then 2 s more with its file in place: several ticks at 200 ms, none at the default 5 s.
    withPostgres(ws, { progress_seconds: 0.2, bin_dir: fakeBinDir(pgc.clientBinDir, { pg_dump: behave.sleepAfter(2) }) });
    const r = await runAction(ws, { command: 'backup', 'postgres-password': pgc.password }, { PATH: userEnv(pgc).PATH });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const start = lines.findIndex((l) => l.startsWith('::group::PostgreSQL: dump mystocks'));
    expect(start, r.stdout).toBeGreaterThanOrEqual(0);
    const end = lines.findIndex((l, i) => i > start && l.startsWith('::endgroup::'));
    const group = lines.slice(start, end);
    expect(group.filter((l) => /^pg_dump: \d+(\.\d)? (B|KiB|MiB) written after \d+ s$/.test(l)).length, group.join('\n')).toBeGreaterThanOrEqual(2);
  });
});
