import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/inputs/config-schema.js';
import { GIB } from '../../src/catalog/space.js';
import { statusEngines, statusRows, evaluateChecks, type StatusInput } from '../../src/commands/status.js';
import type { PitrFacts } from '../../src/engines/barman/probe.js';
import type { BaseBackup } from '../../src/engines/barman/barman.js';
import type { Check } from '../../src/report/result.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const MIB = 1024 * 1024;
const NOW = new Date('2026-12-06T04:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);

const withPitr = configSchema.parse({
  root: '/b',
  postgres: { database: 'mystocks' },
  pitr: { barman_home: '/srv/barman', host: '127.0.0.1', wal_max_age_minutes: 30, slot_lag_max_mb: 100, base_backup_max_age_hours: 48 },
});
const withoutPitr = configSchema.parse({ root: '/b', postgres: { database: 'mystocks' } });

const backup = (id: string, endedAgoMs: number, status = 'DONE'): BaseBackup => ({ id, status, endedAt: ago(endedAgoMs), bytes: 1, walBytes: 1 });

function facts(over: Partial<PitrFacts> = {}): PitrFacts {
  return {
    newestWal: ago(5 * MIN),
    backups: [backup('20261205T010000', 27 * HOUR), backup('20261203T010000', 75 * HOUR)],
    slot: { slot: 'barman', active: true, lagBytes: 16 * MIB, walStatus: 'reserved' },
    ...over,
  };
}

function input(pitr: PitrFacts | undefined, config = withPitr): StatusInput {
  return { config, engines: statusEngines(), sets: [], logs: [], free: { bytes: 20 * GIB }, lock: null, ...(pitr ? { pitr } : {}) };
}

function row(rows: Check[], name: string): Check {
  const r = rows.find((x) => x.name === name);
  if (!r) throw new Error(`no row ${name}`);
  return r;
}

const PITR_ROWS = ['pitr WAL streaming', 'pitr slot lag', 'pitr base backup', 'pitr recoverable window'];

describe('status: point-in-time rows', () => {
  it('no pitr: section, no pitr rows', () => {
    const names = statusRows(input(undefined, withoutPitr), NOW).map((r) => r.name);
    for (const n of PITR_ROWS) expect(names).not.toContain(n);
  });

  it('fresh: WAL, slot and base backup pass; the window is informational', () => {
    const rows = statusRows(input(facts()), NOW);
    expect(PITR_ROWS.map((n) => row(rows, n).result)).toEqual(['passed', 'passed', 'passed', 'skipped']);
    expect(row(rows, 'pitr WAL streaming').detail).toContain('5 min ago <= wal_max_age_minutes 30');
    expect(row(rows, 'pitr slot lag').detail).toContain('< slot_lag_max_mb 100');
    expect(row(rows, 'pitr base backup').detail).toContain('20261205T010000');
    expect(row(rows, 'pitr recoverable window').detail).toBe('any time from 2026-12-03T01:00:00.000Z to 2026-12-06T03:55:00.000Z (informational)');
  });

  it('stale WAL (a dead receiver) fails, and is a stale row', () => {
    const ev = evaluateChecks(input(facts({ newestWal: ago(31 * MIN) })), NOW);
    const wal = ev.find((e) => e.check.name === 'pitr WAL streaming')!;
    expect(wal.check.result).toBe('failed');
    expect(wal.check.detail).toContain('31 min ago > wal_max_age_minutes 30');
    expect(wal.stale).toBe(true);
  });

  it('no WAL at all fails', () => {
    expect(row(statusRows(input(facts({ newestWal: null })), NOW), 'pitr WAL streaming')).toMatchObject({ result: 'failed', detail: expect.stringContaining('holds no WAL') });
  });

  it('a lagging slot fails at the limit, and says when no receiver is attached', () => {
    const r = row(statusRows(input(facts({ slot: { slot: 'barman', active: false, lagBytes: 100 * MIB, walStatus: 'extended' } })), NOW), 'pitr slot lag');
    expect(r.result).toBe('failed');
    expect(r.detail).toContain('>= slot_lag_max_mb 100');
    expect(r.detail).toContain('no receiver attached');
  });

  it('a missing slot, a lost slot and an unreachable server fail', () => {
    expect(row(statusRows(input(facts({ slot: { slot: 'barman', missing: true } })), NOW), 'pitr slot lag')).toMatchObject({ result: 'failed', detail: expect.stringContaining('does not exist') });
    expect(row(statusRows(input(facts({ slot: { slot: 'barman', active: false, lagBytes: null, walStatus: 'lost' } })), NOW), 'pitr slot lag')).toMatchObject({ result: 'failed', detail: expect.stringContaining('wal_status lost') });
    expect(row(statusRows(input(facts({ slot: { error: 'connection refused' } })), NOW), 'pitr slot lag')).toMatchObject({ result: 'failed', detail: 'connection refused' });
  });

  it('a stale base backup fails; a newer FAILED one does not count', () => {
    const r = row(statusRows(input(facts({ backups: [backup('20261206T010000', 3 * HOUR, 'FAILED'), backup('20261203T010000', 49 * HOUR)] })), NOW), 'pitr base backup');
    expect(r.result).toBe('failed');
    expect(r.detail).toContain('20261203T010000');
    expect(r.detail).toContain('> base_backup_max_age_hours 48');
  });

  it('no base backup: the backup row fails and the window says so', () => {
    const rows = statusRows(input(facts({ backups: [] })), NOW);
    expect(row(rows, 'pitr base backup')).toMatchObject({ result: 'failed', detail: expect.stringContaining('no finished base backup') });
    expect(row(rows, 'pitr recoverable window').detail).toContain('no recoverable window');
    expect(row(statusRows(input(facts({ backups: { error: 'barman cannot be started' } })), NOW), 'pitr base backup')).toMatchObject({ result: 'failed', detail: expect.stringContaining('barman cannot be started') });
  });
});
