/**
 * Server timeouts must not end the tool's long sessions. Production servers may set
 * idle_in_transaction_session_timeout, statement_timeout, lock_timeout (any version) and
 * transaction_timeout (17+); the exporting transaction has to stay open until pg_dump ends, and a
 * count may wait on a lock. Each test puts one of those limits on a real server and shows the run
 * still succeeds, where a session left with the server's default would be cut off.
 */
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { startPg17 } from '../helpers/embedded-pg17.js';
import { cli, json, readJson, userEnv, withPostgres, workspace } from '../helpers/tool.js';
import { behave, fakeBinDir } from '../helpers/fake-bin.js';
import { PostgresEngine } from '../../src/engines/postgres/index.js';
import { RunLog, silentSink } from '../../src/report/log.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { RunResult } from '../../src/report/result.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function client(c: Cluster, database: string): pg.Client {
  const cl = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database });
  cl.on('error', () => {}); // a session the server ends is what some tests expect
  return cl;
}

function engineFor(c: Cluster, database: string): PostgresEngine {
  const e = new PostgresEngine({ host: c.host, port: c.port, user: c.user, database, jobs: 1, progress_seconds: 5, globals_password_hashes: false });
  e.findTools({ PATH: c.clientBinDir });
  return e;
}

/** Holds ACCESS EXCLUSIVE on `table` until release(): every count of it waits meanwhile. */
async function lockTable(c: Cluster, database: string, table: string): Promise<{ release: () => Promise<void> }> {
  const cl = client(c, database);
  await cl.connect();
  // This session waits idle in its transaction on purpose: the server's limits must not end it.
  await cl.query('SET idle_in_transaction_session_timeout = 0; SET statement_timeout = 0');
  await cl.query('BEGIN');
  await cl.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return {
    release: async () => {
      await cl.query('COMMIT');
      await cl.end();
    },
  };
}

/** Waits until a count(*) of our application is waiting on a lock (the count session, not pg_dump). */
async function countWaitsOnLock(c: Cluster): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await c.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name = 'pgtaos-backup' AND wait_event_type = 'Lock' AND query LIKE 'SELECT count(*)%'",
    );
    if (r[0]!.n !== '0') return;
    await sleep(25);
  }
  throw new Error('no count of pgtaos-backup ever waited on the lock');
}

describe('on a server with short idle, statement and lock timeouts', () => {
  let pgc: Cluster;
  beforeAll(async () => {
    // 300 ms idle in a transaction ends the session, server-wide.
    pgc = await startCluster({ name: 'timeouts', settings: { idle_in_transaction_session_timeout: '300ms' } });
    await pgc.createDb('mystocks');
    await pgc.psql('CREATE TABLE a_first (id int PRIMARY KEY); INSERT INTO a_first SELECT g FROM generate_series(1, 1000) g; CREATE TABLE b_second (v text); INSERT INTO b_second VALUES (\'x\'), (\'y\');', 'mystocks');
    // And 300 ms for any statement and any lock wait, for every session on this database.
    await pgc.psql("ALTER DATABASE mystocks SET statement_timeout = '300ms'; ALTER DATABASE mystocks SET lock_timeout = '300ms';");
  });
  afterAll(async () => {
    await pgc?.destroy();
  });

  it('a dump that keeps the exporting transaction idle for 1.5 s still succeeds (idle_in_transaction_session_timeout is 300 ms)', async () => {
    const ws = workspace(pgc, 'mystocks');
    // pg_dump starts 1.5 s late: meanwhile the counts are done and the exporting session sits idle in its transaction.
    withPostgres(ws, { bin_dir: fakeBinDir(pgc.clientBinDir, { pg_dump: behave.sleepFirst(1.5) }) });
    const r = await cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const m = readJson<Manifest>(path.join(json<RunResult>(r).set!.path, 'manifest.json'));
    expect(m.postgres!.tables).toEqual([
      { name: 'public.a_first', schema: 'public', table: 'a_first', rows: 1000 },
      { name: 'public.b_second', schema: 'public', table: 'b_second', rows: 2 },
    ]);
  });

  it('a count that waits 1 s on a lock still succeeds (statement_timeout and lock_timeout are 300 ms on the database)', async () => {
    const ws = workspace(pgc, 'mystocks');
    const lock = await lockTable(pgc, 'mystocks', 'public.a_first');
    const backup = cli(['backup', '--json'], { env: userEnv(pgc), cwd: ws.dir });
    try {
      await countWaitsOnLock(pgc);
      await sleep(1000);
    } finally {
      await lock.release();
    }
    const r = await backup;
    expect(r.code, r.stderr).toBe(0);
    const m = readJson<Manifest>(path.join(json<RunResult>(r).set!.path, 'manifest.json'));
    expect(m.postgres!.tables.find((t) => t.name === 'public.a_first')?.rows).toBe(1000);
  });

  it("verify's counting session (countDatabase) is not cut off either", async () => {
    const engine = engineFor(pgc, 'mystocks');
    const lock = await lockTable(pgc, 'mystocks', 'public.a_first');
    const counting = engine.countDatabase(pgc.env, 'mystocks', new RunLog(silentSink, []), new AbortController().signal);
    counting.catch(() => {}); // awaited below; a rejection meanwhile is not unhandled
    try {
      await countWaitsOnLock(pgc);
      await sleep(1000);
    } finally {
      await lock.release();
    }
    const counted = await counting;
    expect(counted.tables).toEqual([
      { name: 'public.a_first', schema: 'public', table: 'a_first', rows: 1000 },
      { name: 'public.b_second', schema: 'public', table: 'b_second', rows: 2 },
    ]);
  });
});

describe('on PostgreSQL 17 with transaction_timeout (production runs 17.6)', () => {
  let pg17: Cluster;
  beforeAll(async () => {
    pg17 = await startPg17({ name: 'txtimeout' });
    await pg17.createDb('mystocks');
    await pg17.psql('CREATE TABLE stocks (symbol text PRIMARY KEY); INSERT INTO stocks VALUES (\'600000\');', 'mystocks');
    await pg17.psql("ALTER SYSTEM SET transaction_timeout = '500ms'; SELECT pg_reload_conf();");
  });
  afterAll(async () => {
    await pg17?.destroy();
  });

  it('the exporting transaction outlives the server transaction_timeout; a plain transaction does not', async () => {
    // The control: the server's limit is in force and ends an ordinary transaction.
    const plain = client(pg17, 'mystocks');
    await plain.connect();
    await plain.query('BEGIN');
    await sleep(1500);
    await expect(plain.query('SELECT 1')).rejects.toThrow();
    await plain.end().catch(() => {});

    // The engine's exporting transaction, open as long: still alive, and its snapshot still importable.
    const engine = engineFor(pg17, 'mystocks');
    const exporting = await engine.connect(pg17.env);
    try {
      const snapshot = await engine.exportSnapshot(exporting);
      await sleep(1500);
      const importer = client(pg17, 'mystocks');
      await importer.connect();
      try {
        await importer.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        await importer.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
        expect((await importer.query<{ n: string }>('SELECT count(*)::text AS n FROM stocks')).rows[0]!.n).toBe('1');
        await importer.query('COMMIT');
      } finally {
        await importer.end().catch(() => {});
      }
      expect((await exporting.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
      await exporting.query('COMMIT');
    } finally {
      await exporting.end().catch(() => {});
    }
  });
});
