/**
 * PostgresEngine's last-line guards and pure decisions, without a server: nothing listens on
 * port 1, and pg_restore is a test-only wrapper (helpers/fake-bin.ts) that fails or hangs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { PostgresEngine, progressIntervalMs, timeoutResets } from '../../src/engines/postgres/index.js';
import type { EngineContext } from '../../src/engines/engine.js';
import { loadConfig } from '../../src/inputs/config.js';
import { RunLog, silentSink } from '../../src/report/log.js';
import { findPgBinDir } from '../helpers/pg-common.js';
import { fakeBinDir } from '../helpers/fake-bin.js';

const CFG = { host: '127.0.0.1', port: 1, user: 'postgres', database: 'mystocks', jobs: 2, progress_seconds: 5, globals_password_hashes: false };
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: 'not-used' };

function ctx(signal = new AbortController().signal): EngineContext & { log: RunLog } {
  return { log: new RunLog(silentSink, []), signal, env: ENV };
}

describe('refuseProduction: the scratch database is never the production one', () => {
  for (const op of ['recreateScratch', 'dropScratch'] as const) {
    it(`${op}(production) is refused before any connection`, async () => {
      const e = new PostgresEngine(CFG);
      const connect = vi.spyOn(e, 'connect');
      await expect(e[op](ENV, 'mystocks')).rejects.toMatchObject({ code: 'postgres.scratch_is_production', kind: 'usage' });
      expect(connect).not.toHaveBeenCalled();
      // The control: another name does try to connect (and finds nothing on port 1).
      await expect(e[op](ENV, 'mystocks_verify')).rejects.toMatchObject({ code: 'postgres.unreachable' });
      expect(connect).toHaveBeenCalledTimes(1);
    });
  }
});

describe('TimescaleDB restore: timescaledb_post_restore() and the timescaledb.restoring reset run whatever pg_restore did', () => {
  type Sql = (env: NodeJS.ProcessEnv, database: string, text: string) => Promise<void>;

  function engineWith(pgRestore: string, sql: Sql = async () => {}): { e: PostgresEngine; calls: string[] } {
    const e = new PostgresEngine({ ...CFG, bin_dir: fakeBinDir(findPgBinDir(), { pg_restore: pgRestore }) });
    e.findTools(ENV);
    const calls: string[] = [];
    vi.spyOn(e as unknown as { sql: Sql }, 'sql').mockImplementation(async (env, db, text) => {
      calls.push(`${db}: ${text}`);
      await sql(env, db, text);
    });
    // The reset runs on the maintenance database (e2e: restore-swap.test.ts); here, only that it runs.
    vi.spyOn(e, 'resetRestoring').mockImplementation(async (_env, db) => {
      calls.push(`${db}: RESET timescaledb.restoring`);
    });
    return { e, calls };
  }
  const opts = { jobs: 4, timescale: true, noOwner: true };
  const pre = 'scratch: CREATE EXTENSION IF NOT EXISTS timescaledb; SELECT timescaledb_pre_restore();';
  const post = 'scratch: SELECT timescaledb_post_restore();';
  const reset = 'scratch: RESET timescaledb.restoring';

  it('after a failed pg_restore (its error is the one thrown)', async () => {
    const { e, calls } = engineWith('echo "pg_restore: error: could not execute query: simulated" >&2\nexit 1');
    await expect(e.restore(ctx(), '/x/mystocks.dump', 'scratch', opts)).rejects.toMatchObject({ code: 'postgres.restore_failed', message: expect.stringContaining('simulated') });
    expect(calls).toEqual([pre, post, reset]);
  });

  it('after a failed pg_restore whose post_restore fails too: the pg_restore error is thrown, the other logged', async () => {
    const { e, calls } = engineWith('exit 1', async (_env, _db, text) => {
      if (text.includes('post_restore')) throw new Error('server gone');
    });
    const c = ctx();
    await expect(e.restore(c, '/x/mystocks.dump', 'scratch', opts)).rejects.toMatchObject({ code: 'postgres.restore_failed' });
    expect(calls).toEqual([pre, post, reset]);
    expect(c.log.errors.join('\n')).toMatch(/timescaledb_post_restore\(\) on scratch failed: server gone; before using scratch, run on it: SELECT timescaledb_post_restore\(\); ALTER DATABASE scratch RESET timescaledb.restoring/);
  });

  it('after a cancelled pg_restore', async () => {
    const { e, calls } = engineWith('exec sleep 30');
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by SIGINT')), 300);
    await expect(e.restore(ctx(ac.signal), '/x/mystocks.dump', 'scratch', opts)).rejects.toThrow('cancelled by SIGINT');
    expect(calls).toEqual([pre, post, reset]);
  });

  it('after a good pg_restore, and without -j (it corrupts TimescaleDB catalogs); other databases get -j', async () => {
    const { e, calls } = engineWith('exit 0');
    const lines: string[] = [];
    const c = { ...ctx(), log: new RunLog({ ...silentSink, info: (l) => lines.push(l) }, []) };
    await e.restore(c, '/x/mystocks.dump', 'scratch', opts);
    expect(calls).toEqual([pre, post, reset]);
    await e.restore(c, '/x/mystocks.dump', 'scratch', { ...opts, timescale: false });
    // Without TimescaleDB: no pre/post_restore, but the reset still runs.
    expect(calls).toEqual([pre, post, reset, reset]);
    const runs = lines.filter((l) => l.startsWith('$ pg_restore '));
    expect(runs).toHaveLength(2);
    expect(runs[0]).not.toMatch(/ -j /);
    expect(runs[1]).toMatch(/ -j 4 /);
  });
});

describe('pure decisions', () => {
  it('timeouts switched off: transaction_timeout only from PostgreSQL 17 (older servers reject the name)', () => {
    expect(timeoutResets(15)).toEqual(['SET statement_timeout = 0', 'SET lock_timeout = 0', 'SET idle_in_transaction_session_timeout = 0']);
    expect(timeoutResets(16)).not.toContain('SET transaction_timeout = 0');
    expect(timeoutResets(17)).toContain('SET transaction_timeout = 0');
    expect(timeoutResets(18)).toContain('SET transaction_timeout = 0');
  });

  it('the progress interval: postgres.progress_seconds, 5 s by default, fractions allowed, at least 0.05 s', () => {
    const load = (extra: string) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-progress-'));
      const file = path.join(dir, 'pgtaos-backup.yml');
      writeFileSync(file, `root: ./backups\npostgres:\n  database: mystocks\n${extra}`);
      return loadConfig({ file, env: {} }).config.postgres!;
    };
    expect(progressIntervalMs(load(''))).toBe(5000);
    expect(progressIntervalMs(load('  progress_seconds: 0.2\n'))).toBe(200);
    expect(progressIntervalMs(load('  progress_seconds: 30\n'))).toBe(30_000);
    for (const bad of ['0', '0.01', '-5', '"fast"', '7200']) {
      expect(() => load(`  progress_seconds: ${bad}\n`), bad).toThrow(/postgres\.progress_seconds/);
    }
  });
});
