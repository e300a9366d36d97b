/**
 * Long work is never silent, against a real PostgreSQL: row counting during a backup and pg_restore
 * in verify and restore log "n of m ... , k left" lines every postgres.progress_seconds (0.05 here).
 * No timing is assumed: the count is held by a table lock, and pg_restore by a test-only wrapper
 * (real pg_restore, then a wait), each until its progress line has appeared in the run's log (for
 * pg_restore: the line that has every entry done, so a miscount holds the run until the test fails).
 */
import { existsSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/run.js';
import type { Sink } from '../../src/report/log.js';
import type { RunRequestInput } from '../../src/inputs/options.js';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { seedMarketData } from '../helpers/market-data.js';
import { fakeBinDir } from '../helpers/fake-bin.js';
import { withPostgres, workspace, type Workspace } from '../helpers/tool.js';

let pgc: Cluster;
const gateDir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-gate-'));
const gate = path.join(gateDir, 'open');
beforeAll(async () => {
  pgc = await startCluster({ name: 'progress' });
  await pgc.createDb('mystocks');
  await seedMarketData(pgc, 'mystocks');
});
afterAll(async () => {
  await pgc?.destroy();
  rmSync(gateDir, { recursive: true, force: true });
});

const RESTORE_LINE = /^pg_restore: \d+ of \d+ archive entries restored, \d+ left$/;
const COUNT_LINE = /^counting rows: \d+ of \d+ tables counted, \d+ left$/;

/** The run's log lines; a pg_restore progress line with every entry done opens the wrapper's gate. */
function sink(lines: string[]): Sink {
  const take = (l: string) => {
    lines.push(l);
    if (RESTORE_LINE.test(l) && l.endsWith(', 0 left')) writeFileSync(gate, '');
  };
  return { info: take, warn: take, error: take, startGroup: take, endGroup: () => {} };
}

function run(ws: Workspace, input: Omit<RunRequestInput, 'configFile'>, lines: string[]) {
  const env = { PATH: `${pgc.clientBinDir}:${process.env.PATH ?? '/usr/bin:/bin'}`, PGPASSWORD: pgc.password, HOME: process.env.HOME };
  return runCommand({ configFile: ws.configFile, ...input }, { sink: sink(lines), env, cwd: ws.dir });
}

async function until(lines: string[], re: RegExp): Promise<void> {
  while (!lines.some((l) => re.test(l))) await new Promise((r) => setTimeout(r, 10));
}

describe('progress lines with done and left', () => {
  it('backup: rows counted of tables; verify and restore: pg_restore entries of the archive list', async () => {
    // pg_restore runs for real, then waits for the gate (its --list runs are not held).
    const binDir = fakeBinDir(pgc.clientBinDir, {
      pg_restore: `"$REAL" "$@"; rc=$?\ncase " $* " in *" --list "*) exit $rc;; esac\ni=0; while [ ! -e '${gate}' ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\nexit $rc`,
    });
    const ws = workspace(pgc, 'mystocks');
    withPostgres(ws, { progress_seconds: 0.05, bin_dir: binDir });

    // A lock on one table holds the count (and pg_dump) until a counting line has been logged.
    const locker = new pg.Client({ host: pgc.host, port: pgc.port, user: pgc.user, password: pgc.password, database: 'mystocks' });
    await locker.connect();
    await locker.query('BEGIN; LOCK TABLE public.daily_bars IN ACCESS EXCLUSIVE MODE');
    const backupLines: string[] = [];
    const backup = run(ws, { command: 'backup' }, backupLines);
    await until(backupLines, COUNT_LINE);
    await locker.query('COMMIT');
    await locker.end();
    const b = await backup;
    expect(b.status, b.message).toBe('success');
    const tables = b.engines.postgres!.tables.length;
    const counting = backupLines.filter((l) => COUNT_LINE.test(l));
    for (const l of counting) expect(l).toMatch(new RegExp(`^counting rows: (\\d+) of ${tables} tables counted, \\d+ left$`));
    for (const l of counting) {
      const [, done, left] = /(\d+) of \d+ tables counted, (\d+) left/.exec(l)!;
      expect(Number(done) + Number(left)).toBe(tables);
    }

    for (const [command, extra] of [
      ['verify', {}],
      ['restore', { setId: b.set!.id, target: 'restored_progress', confirm: 'restored_progress' }],
    ] as const) {
      rmSync(gate, { force: true });
      if (command === 'restore') await pgc.createDb('restored_progress');
      const lines: string[] = [];
      const r = await run(ws, { command, ...extra }, lines);
      expect(r.status, `${command}: ${r.message}`).toBe('success');
      const progress = lines.filter((l) => RESTORE_LINE.test(l));
      expect(progress.length, `${command}:\n${lines.slice(-40).join('\n')}`).toBeGreaterThan(0);
      // The wrapper waits after pg_restore has finished: the last line has every entry done.
      const [, done, total, left] = /(\d+) of (\d+) archive entries restored, (\d+) left/.exec(progress.at(-1)!)!;
      expect(Number(total)).toBeGreaterThan(20);
      expect([Number(done), Number(left)], `${command}:\n${lines.filter((l) => l.startsWith('pg_restore')).join('\n')}`).toEqual([Number(total), 0]);
      // pg_restore -v's per-entry lines are counted, not logged one by one.
      expect(lines.filter((l) => /^pg_restore: (creating|processing data for table) /.test(l))).toEqual([]);
      expect(existsSync(gate)).toBe(true);
    }
  });
});
