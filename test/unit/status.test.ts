import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/inputs/config-schema.js';
import type { RetentionInput } from '../../src/catalog/retention.js';
import { GIB } from '../../src/catalog/space.js';
import { statusEngines, errorLines, evaluateChecks, selectRunLogs, statusRows, type RunLogInfo, type StatusInput, type StatusSet } from '../../src/commands/status.js';
import type { Check } from '../../src/report/result.js';

const HOUR = 3_600_000;
const NOW = new Date('2026-11-25T04:00:00.000Z');
const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR).toISOString();

const pgOnly = configSchema.parse({ root: '/b', postgres: { database: 'mystocks' } });
const both = configSchema.parse({ root: '/b', postgres: { database: 'mystocks' }, tdengine: { database: 'market_data' } });

type Engine = RetentionInput['engines'][number];
/** A complete set; its dumps are of the configured databases (mystocks, market_data) unless `db` says otherwise. */
function set(id: string, hoursAgo: number, o: { kind?: RetentionInput['kind']; engines?: Engine[]; verified?: ['passed' | 'failed', number]; db?: string } = {}): StatusSet {
  const kind = o.kind ?? 'daily';
  const engines = o.engines ?? (kind === 'config' ? ['config'] : ['postgres']);
  return {
    id,
    kind,
    status: 'complete',
    path: `/b/${kind}/${id}`,
    started_at: at(hoursAgo),
    engines,
    verification: o.verified ? { result: o.verified[0], verified_at: at(o.verified[1]) } : null,
    staging: false,
    damage: null,
    databases: {
      ...(engines.includes('postgres') ? { postgres: o.db ?? 'mystocks' } : {}),
      ...(engines.includes('tdengine') ? { tdengine: o.db ?? 'market_data' } : {}),
    },
  };
}
const damaged = (id: string): StatusSet => ({ id, kind: 'daily', status: 'incomplete', path: `/b/daily/${id}`, started_at: null, engines: [], verification: null, staging: false, damage: 'no manifest.json', databases: {} });
const staging = (id: string): StatusSet => ({ id, kind: 'daily', status: 'incomplete', path: `/b/.incomplete/${id}.77`, started_at: null, engines: [], verification: null, staging: true, damage: 'left by a run that did not finish', databases: {} });

function healthy(over: Partial<StatusInput> = {}): StatusInput {
  return {
    config: pgOnly,
    engines: statusEngines(),
    sets: [set('mystocks_20261125_000003', 4, { verified: ['passed', 3] }), set('mystocks_20261124_000003', 28), set('post_phase2_20261001', 24 * 55, { kind: 'milestone' })],
    logs: [{ file: '/b/logs/20261125_000003-backup-10.log', command: 'backup', mtimeMs: NOW.getTime() - 4 * HOUR, errors: [] }],
    free: { bytes: 20 * GIB },
    lock: null,
    ...over,
  };
}

function row(rows: Check[], name: string): Check {
  const r = rows.find((x) => x.name === name);
  if (!r) throw new Error(`no row ${name}`);
  return r;
}

describe('statusRows', () => {
  it('a healthy catalog passes every row; TDengine is skipped when not configured', () => {
    const rows = statusRows(healthy(), NOW);
    expect(rows.map((r) => [r.name, r.result])).toEqual([
      ['postgres backup', 'passed'],
      ['tdengine backup', 'skipped'],
      ['last run log', 'passed'],
      ['free space', 'passed'],
      ['last verification', 'passed'],
      ['retention applied', 'passed'],
      ['incomplete sets', 'passed'],
      ['safety sets', 'skipped'],
    ]);
    expect(row(rows, 'postgres backup').detail).toMatch(/^newest: mystocks_20261125_000003 \(daily\), started .*, 4\.0 h old <= 26 h; 3 complete set\(s\) hold a PostgreSQL dump of mystocks$/);
    expect(row(rows, 'tdengine backup').detail).toBe('no tdengine: section in the config');
  });

  const ageCases: { name: string; sets: StatusSet[]; result: Check['result']; detail: RegExp }[] = [
    { name: 'newest 25.9 h old', sets: [set('a_20261124', 25.9)], result: 'passed', detail: /25\.9 h old <= 26 h/ },
    { name: 'newest 26.1 h old (stale)', sets: [set('a_20261124', 26.1), set('b_20261120', 100)], result: 'failed', detail: /newest: a_20261124 .*26\.1 h old > 26 h/ },
    { name: 'no set at all', sets: [], result: 'failed', detail: /^no complete daily or milestone set holds a PostgreSQL dump of mystocks$/ },
    { name: 'only damaged and staging sets', sets: [damaged('a_20261125'), staging('b_20261125')], result: 'failed', detail: /^no complete daily or milestone set holds/ },
    { name: 'a milestone counts as a backup', sets: [set('mvp_complete_20261125', 2, { kind: 'milestone' }), set('a_20261120', 100)], result: 'passed', detail: /mvp_complete_20261125 \(milestone\)/ },
    { name: 'a config snapshot is not a database backup', sets: [set('config_20261125_000000', 1, { kind: 'config' }), set('a_20261120', 100)], result: 'failed', detail: /newest: a_20261120/ },
    { name: 'a TDengine-only set does not count for PostgreSQL', sets: [set('m_20261125', 1, { engines: ['tdengine'] }), set('a_20261120', 100)], result: 'failed', detail: /newest: a_20261120/ },
    {
      name: 'a set from the future (clock skew) does not hide that backups stopped',
      sets: [set('a_20991231', -24 * 400), set('b_20261120', 100)],
      result: 'failed',
      detail: /newest: b_20261120 .*100\.0 h old > 26 h; 1 complete set\(s\) hold a PostgreSQL dump of mystocks; 1 set\(s\) dated in the future not counted \(clock skew\?\): a_20991231$/,
    },
    { name: 'a minute ahead is within tolerance', sets: [set('a_20261125', -1 / 60)], result: 'passed', detail: /0\.0 h old/ },
    { name: 'started_at without an offset is not counted', sets: [{ ...set('a_20261125', 1), started_at: '2026-11-25 11:00:00' }], result: 'failed', detail: /^no complete daily or milestone set/ },
  ];
  it.each(ageCases)('postgres backup age: $name', (c) => {
    const r = row(statusRows(healthy({ sets: c.sets }), NOW), 'postgres backup');
    expect(r.result).toBe(c.result);
    expect(r.detail).toMatch(c.detail);
  });

  it('a safety set taken before a restore does not reset the clock of a nightly that stopped', () => {
    // The nightly stopped 100 h ago; a restore an hour ago took a safety dump of mystocks.
    const sets = [set('safety_mystocks_20261125_110000', 1, { kind: 'safety' }), set('mystocks_20261121_000003', 100)];
    const r = row(statusRows(healthy({ sets }), NOW), 'postgres backup');
    expect(r.result).toBe('failed');
    expect(r.detail).toBe(
      `newest: mystocks_20261121_000003 (daily), started ${at(100)}, 100.0 h old > 26 h; 1 complete set(s) hold a PostgreSQL dump of mystocks; 1 safety set(s) not counted (restore takes them; they are not the scheduled backups)`,
    );
    expect(row(statusRows(healthy({ sets: sets.slice(0, 1) }), NOW), 'postgres backup')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/^no complete daily or milestone set holds a PostgreSQL dump of mystocks; 1 safety set/) });
  });

  it('a TDengine safety set does not count for the TDengine row either', () => {
    const sets = [set('mystocks_20261125_000003', 4), set('safety_market_data_20261125_110000', 1, { kind: 'safety', engines: ['tdengine'] }), set('market_data_20261121_010003', 99, { engines: ['tdengine'] })];
    expect(row(statusRows(healthy({ config: both, sets }), NOW), 'tdengine backup')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/^newest: market_data_20261121_010003 .*99\.0 h old > 26 h/) });
  });

  it('dumps of another database (a restore target, an old name) do not count', () => {
    const sets = [set('mystocks_copy_20261125_000003', 1, { db: 'mystocks_copy' }), set('mystocks_20261121_000003', 100)];
    const r = row(statusRows(healthy({ sets }), NOW), 'postgres backup');
    expect(r.result).toBe('failed');
    expect(r.detail).toMatch(/^newest: mystocks_20261121_000003 .*; sets of mystocks_copy not counted \(the configured database is mystocks\)$/);
  });

  it('staleness limit comes from staleness.max_age_hours', () => {
    const config = configSchema.parse({ root: '/b', postgres: { database: 'mystocks' }, staleness: { max_age_hours: 50 } });
    expect(row(statusRows(healthy({ config, sets: [set('a_20261123', 49)] }), NOW), 'postgres backup').result).toBe('passed');
  });

  it('TDengine, when configured, is judged by its own newest set (separate 01:00 run)', () => {
    const sets = [set('mystocks_20261125_000003', 4), set('market_data_20261123_010003', 51, { engines: ['tdengine'] })];
    let rows = statusRows(healthy({ config: both, sets }), NOW);
    expect(row(rows, 'postgres backup').result).toBe('passed');
    expect(row(rows, 'tdengine backup')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/newest: market_data_20261123_010003 .*51\.0 h old > 26 h; 1 complete set\(s\) hold a TDengine dump of market_data/) });
    rows = statusRows(healthy({ config: both, sets: [...sets, set('market_data_20261125_010003', 3, { engines: ['tdengine'] })] }), NOW);
    expect(row(rows, 'tdengine backup').result).toBe('passed');
    rows = statusRows(healthy({ config: both, sets: [set('both_20261125', 3, { engines: ['postgres', 'tdengine'] })] }), NOW);
    expect(row(rows, 'tdengine backup').result).toBe('passed');
  });

  it('last run log: errors fail the row, naming the file and the first error', () => {
    const logs = [
      { file: '/b/logs/20261125_000503-prune-11.log', command: 'prune', mtimeMs: NOW.getTime() - HOUR, errors: [] },
      { file: '/b/logs/20261125_000003-backup-10.log', command: 'backup', mtimeMs: NOW.getTime() - 2 * HOUR, errors: ['pg_dump: error: connection refused', 'hint: check the server'] },
    ];
    const r = row(statusRows(healthy({ logs }), NOW), 'last run log');
    expect(r.result).toBe('failed');
    expect(r.detail).toBe('20261125_000003-backup-10.log (backup) has 2 ERROR line(s), first: pg_dump: error: connection refused');
    expect(row(statusRows(healthy({ logs: [] }), NOW), 'last run log')).toEqual({ name: 'last run log', result: 'skipped', detail: 'no run log under /b/logs yet' });
    expect(row(statusRows(healthy({ logs: logs.slice(0, 1) }), NOW), 'last run log')).toEqual({ name: 'last run log', result: 'passed', detail: 'no ERROR lines in 20261125_000503-prune-11.log (prune)' });
  });

  it('free space against min_free_gb', () => {
    expect(row(statusRows(healthy({ free: { bytes: 4.9 * GIB } }), NOW), 'free space')).toEqual({ name: 'free space', result: 'failed', detail: '4.9 GiB free on /b < min_free_gb 5 (5.0 GiB)' });
    expect(row(statusRows(healthy({ free: { bytes: 5 * GIB } }), NOW), 'free space').result).toBe('passed');
    expect(row(statusRows(healthy({ free: { error: 'ENOENT: no such file or directory' } }), NOW), 'free space')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/cannot read the free space on \/b: ENOENT/) });
  });

  const verifyCases: { name: string; sets: StatusSet[]; result: Check['result']; detail: RegExp }[] = [
    { name: 'never verified', sets: [set('a_20261125', 1)], result: 'failed', detail: /^no verification on record/ },
    { name: 'passed 2 days ago', sets: [set('a_20261125', 1), set('b_20261120', 100, { verified: ['passed', 48] })], result: 'passed', detail: /^b_20261120 verified .*: passed, 2\.0 days ago <= 8 days$/ },
    { name: 'passed 9 days ago (stale)', sets: [set('b_20261110', 300, { verified: ['passed', 24 * 9] })], result: 'failed', detail: /passed, 9\.0 days ago > 8 days$/ },
    {
      name: 'the last verification failed, an earlier one passed',
      sets: [set('a_20261124', 30, { verified: ['failed', 5] }), set('b_20261120', 100, { verified: ['passed', 90] })],
      result: 'failed',
      detail: /^a_20261124 verified .*: failed, 0\.2 days ago <= 8 days$/,
    },
    {
      name: 'the last verification is by verified_at, not by set age',
      sets: [set('a_20261124', 30, { verified: ['failed', 100] }), set('b_20261001', 1300, { verified: ['passed', 10], kind: 'milestone' })],
      result: 'passed',
      detail: /^b_20261001 verified/,
    },
    {
      name: 'a verified safety set does not stand for the scheduled backups',
      sets: [set('safety_mystocks_20261124_031500', 20, { kind: 'safety', verified: ['passed', 10] }), set('b_20261110', 300, { verified: ['passed', 24 * 9] })],
      result: 'failed',
      detail: /^b_20261110 verified .*: passed, 9\.0 days ago > 8 days$/,
    },
    {
      name: 'a verified set of another database does not count',
      sets: [set('other_20261124', 20, { verified: ['passed', 10], db: 'otherdb' }), set('b_20261110', 300, { verified: ['passed', 24 * 9] })],
      result: 'failed',
      detail: /^b_20261110 verified/,
    },
    { name: 'a verification dated in the future is ignored', sets: [set('a_20261124', 30, { verified: ['passed', -1000] })], result: 'failed', detail: /^no verification on record/ },
  ];
  it.each(verifyCases)('last verification: $name', (c) => {
    const r = row(statusRows(healthy({ sets: c.sets }), NOW), 'last verification');
    expect(r.result).toBe(c.result);
    expect(r.detail).toMatch(c.detail);
  });

  it('retention applied: fails on a removal overdue by more than max_age_hours, naming it', () => {
    const sets = [set('a_20261125', 4), set('b_20261124', 28), set('c_20261123', 52), set('d_20261122', 76), set('e_20261115', 24 * 10)];
    const r = row(statusRows(healthy({ sets }), NOW), 'retention applied');
    expect(r.result).toBe('failed');
    expect(r.detail).toBe('1 set(s) should have been removed: e_20261115 (daily, 10.0 days old > 7 days); run `pgtaos-backup prune`');
  });

  it('retention applied: a set that aged out within max_age_hours waits for the next prune', () => {
    const sets = [set('a_20261125', 4), set('b_20261124', 28), set('c_20261123', 52), set('d_20261118', 24 * 7 + 5)];
    const r = row(statusRows(healthy({ sets }), NOW), 'retention applied');
    expect(r).toMatchObject({ result: 'passed', detail: 'nothing overdue: 3 set(s) kept by policy; 1 set(s) aged out within the last 26 h and go at the next prune' });
  });

  it('retention applied: a set pushed out of keep_last by a backup within max_age_hours waits too', () => {
    // d was protected by keep_last until a (4 h old) arrived.
    const sets = [set('a_20261125', 4), set('b_20261118', 24 * 8), set('c_20261117', 24 * 9), set('d_20261116', 24 * 10)];
    expect(row(statusRows(healthy({ sets }), NOW), 'retention applied').result).toBe('passed');
  });

  it('retention applied: old sets kept by keep_last, milestones and the newest verified set are not pending', () => {
    const sets = [set('a_20261101', 24 * 20), set('b_20261031', 24 * 21), set('c_20261030', 24 * 22), set('v_20261001', 24 * 50, { verified: ['passed', 24 * 2] }), set('m_20200101', 24 * 2000, { kind: 'milestone' })];
    expect(row(statusRows(healthy({ sets }), NOW), 'retention applied').result).toBe('passed');
  });

  it('retention applied: a staging leftover is pending unless a live run holds the lock', () => {
    const sets = [...healthy().sets, staging('mystocks_20261125_100000')];
    expect(row(statusRows(healthy({ sets }), NOW), 'retention applied')).toMatchObject({ result: 'failed', detail: expect.stringMatching(/^1 set\(s\) should have been removed: mystocks_20261125_100000 \(left in \.incomplete\/ by a run that did not finish/) });
    const lock = { command: 'backup', pid: 77, hostname: 'runner', started_at: at(0.1) };
    expect(row(statusRows(healthy({ sets, lock }), NOW), 'retention applied')).toMatchObject({ result: 'passed', detail: expect.stringMatching(/1 staging folder\(s\) belong to the running backup \(pid 77\)/) });
  });

  it('incomplete sets: damaged ones fail the row; staging leftovers only show', () => {
    let r = row(statusRows(healthy({ sets: [...healthy().sets, damaged('mystocks_20261120_000003')] }), NOW), 'incomplete sets');
    expect(r).toEqual({ name: 'incomplete sets', result: 'failed', detail: '1 damaged set(s), not counted as backups and kept for a person to inspect: mystocks_20261120_000003 at /b/daily/mystocks_20261120_000003 (no manifest.json)' });
    r = row(statusRows(healthy({ sets: [...healthy().sets, { ...set('x_20261120', 1), started_at: 'garbage' }] }), NOW), 'incomplete sets');
    expect(r.result).toBe('failed');
    expect(r.detail).toMatch(/x_20261120 .*started_at "garbage" is not a time with a UTC offset/);
    r = row(statusRows(healthy({ sets: [...healthy().sets, staging('mystocks_20261125_100000')] }), NOW), 'incomplete sets');
    expect(r).toEqual({ name: 'incomplete sets', result: 'passed', detail: '1 staging folder(s) left by runs that did not finish (the next backup, or prune, removes them): mystocks_20261125_100000' });
    expect(row(statusRows(healthy(), NOW), 'incomplete sets').detail).toBe('none');
  });
});

describe('run logs', () => {
  const log = (file: string, command: string, hoursAgo: number): RunLogInfo => ({ file, command, mtimeMs: NOW.getTime() - hoursAgo * HOUR });

  it('the newest log, and the newest of each other command within the window', () => {
    const logs = [
      log('a-backup', 'backup', 2),
      log('b-prune', 'prune', 1.9),
      log('c-backup', 'backup', 26),
      log('d-verify', 'verify', 30), // outside the window
      log('e-milestone', 'milestone', 20),
    ];
    expect(selectRunLogs(logs, NOW, 26).map((l) => l.file)).toEqual(['b-prune', 'a-backup', 'e-milestone']);
  });
  it('the newest log counts however old it is; list and status are never the last run', () => {
    expect(selectRunLogs([log('old-backup', 'backup', 24 * 30), log('x-status', 'status', 1), log('y-list', 'list', 1)], NOW, 26).map((l) => l.file)).toEqual(['old-backup']);
    expect(selectRunLogs([], NOW, 26)).toEqual([]);
  });
  it('errorLines reads the ERROR level token of RunLog lines', () => {
    const text = [
      '2026-11-24T16:00:03.120Z INFO  pgtaos-backup 0.1.0: backup',
      '2026-11-24T16:00:04.000Z WARN  took over a stale lock',
      '2026-11-24T16:00:05.000Z ERROR pg_dump: error: ERROR: permission denied',
      '2026-11-24T16:00:05.100Z INFO  table ERROR_codes has 3 rows',
      '2026-11-24T16:00:05.200Z ERROR hint: check the grants',
      '',
    ].join('\n');
    expect(errorLines(text)).toEqual(['pg_dump: error: ERROR: permission denied', 'hint: check the grants']);
  });
});

describe('safety sets row', () => {
  it('names the safety sets kept after restores, newest first', () => {
    const input = healthy();
    input.sets.push(
      { id: 'safety_mystocks_20261120_031500', kind: 'safety', status: 'complete', path: '/b/safety/safety_mystocks_20261120_031500', started_at: '2026-11-20T03:15:00.000+08:00', engines: ['postgres'], verification: null, staging: false, damage: null, databases: { postgres: 'mystocks' } },
      { id: 'safety_mystocks_20261124_031500', kind: 'safety', status: 'complete', path: '/b/safety/safety_mystocks_20261124_031500', started_at: '2026-11-24T03:15:00.000+08:00', engines: ['postgres'], verification: null, staging: false, damage: null, databases: { postgres: 'mystocks' } },
    );
    const r = row(statusRows(input, NOW), 'safety sets');
    expect(r.result).toBe('passed');
    expect(r.detail).toMatch(/^2 kept until removed by hand, newest safety_mystocks_20261124_031500 /);
  });
});

describe('checks as data', () => {
  it('the backup rows follow the engines list given in the input, in its order and with its labels', () => {
    const sets = [set('market_data_20261125_010003', 3, { engines: ['tdengine'] })];
    const rows = statusRows(healthy({ config: both, sets, engines: [{ name: 'tdengine', label: 'Taos' }] }), NOW);
    expect(rows.map((r) => r.name).slice(0, 2)).toEqual(['tdengine backup', 'last run log']);
    expect(rows[0]!.detail).toMatch(/1 complete set\(s\) hold a Taos dump of market_data$/);
  });
  it('staleness is a flag on the check, not a name: the backup rows and the verification row', () => {
    const flagged = evaluateChecks(healthy(), NOW).filter((e) => e.stale).map((e) => e.check.name);
    expect(flagged).toEqual(['postgres backup', 'tdengine backup', 'last verification']);
  });
});
