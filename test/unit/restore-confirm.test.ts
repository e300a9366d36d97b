import { describe, expect, it } from 'vitest';
import { checkConfirmation, pickEngine, restoreStopped, rollbackCommand, type RestoreStage } from '../../src/commands/restore.js';
import { CancelledError, JobError, UsageError, exitCodeOf } from '../../src/errors.js';

describe('restore confirmation', () => {
  it('passes only when --confirm repeats --target exactly', () => {
    expect(checkConfirmation('mystocks', 'mystocks')).toBe('mystocks');
  });
  it.each([
    ['mystocks', undefined],
    ['mystocks', ''],
    ['mystocks', 'Mystocks'],
    ['mystocks', 'mystocks '],
    [undefined, 'mystocks'],
    ['my stocks', 'my stocks'],
    ['../x', '../x'],
    // Names a PostgreSQL restore makes itself beside its target.
    ['mystocks_pgtaos_new', 'mystocks_pgtaos_new'],
    ['mystocks_pgtaos_old', 'mystocks_pgtaos_old'],
  ])('refuses target %j with confirm %j', (target, confirm) => {
    expect(() => checkConfirmation(target, confirm)).toThrow(UsageError);
  });
});

describe('which engine a restore puts back', () => {
  it('a single-engine set: that engine', () => {
    expect(pickEngine(['postgres'], 'all', 's_20260101')).toBe('postgres');
    expect(pickEngine(['tdengine'], 'all', 's_20260101')).toBe('tdengine');
  });
  it('a set holding both: --engines must say which', () => {
    expect(() => pickEngine(['postgres', 'tdengine'], 'all', 's_20260101')).toThrow(/one at a time/);
    expect(pickEngine(['postgres', 'tdengine'], 'tdengine', 's_20260101')).toBe('tdengine');
  });
  it('an engine the set does not hold is refused', () => {
    expect(() => pickEngine(['postgres'], 'tdengine', 's_20260101')).toThrow(UsageError);
  });
});

describe('what a restore that stops says', () => {
  const before: RestoreStage = { touched: false, setId: 'mystocks_20261125_000003', target: 'mystocks' };
  const touched: RestoreStage = { touched: true, setId: 'mystocks_20261125_000003', target: 'mystocks', engine: 'postgres', safetyId: 'safety_mystocks_20261126_031500' };
  const rollback = 'pgtaos-backup restore safety_mystocks_20261126_031500 --target mystocks --confirm mystocks';
  const pgRestoreFailed = new JobError('postgres.restore_failed', 'pg_restore into mystocks failed (exit 1):\n  pg_restore: error: could not execute query', { hint: 'Read the pg_restore lines above.' });

  it('a failure after the target was touched: partly restored, the roll-back command last, the tool lines kept', () => {
    const e = restoreStopped(pgRestoreFailed, touched, false);
    expect(e).toBeInstanceOf(JobError);
    expect(e.code).toBe('postgres.restore_failed');
    expect(e.message.split('\n')[0]).toBe('pg_restore into mystocks failed (exit 1); mystocks may be partly restored (the restore of mystocks_20261125_000003 into it had begun); what it held before is in the safety set safety_mystocks_20261126_031500:');
    expect(e.message.split('\n')[1]).toBe('  pg_restore: error: could not execute query');
    expect(e.hint!.startsWith('Read the pg_restore lines above. ')).toBe(true);
    expect(e.hint!.endsWith(`To roll back: ${rollback}`)).toBe(true);
    expect(e.hint).not.toMatch(/run it again/i);
  });

  it('a cancel after the target was touched: still a cancel (exit 1, status cancelled), with the roll-back, never "no partial set was kept"', () => {
    const e = restoreStopped(new CancelledError('SIGTERM'), touched, true);
    expect(e).toBeInstanceOf(CancelledError);
    expect(exitCodeOf(e)).toBe(1);
    expect(e.message).toMatch(/^cancelled by SIGTERM; mystocks may be partly restored/);
    expect(e.hint!.endsWith(`To roll back: ${rollback}`)).toBe(true);
    expect(e.hint).not.toContain('no partial set was kept');
  });

  it('whatever stopped it, once touched the exit is 1, not 2 ("nothing was changed" would be false)', () => {
    const e = restoreStopped(new UsageError('tdengine.spawn', 'cannot run taosdump'), { ...touched, engine: 'tdengine' }, false);
    expect(exitCodeOf(e)).toBe(1);
    expect(e.hint).toContain('To roll back: pgtaos-backup restore safety_mystocks_20261126_031500 --engines tdengine --target mystocks --confirm mystocks');
    expect(exitCodeOf(restoreStopped(new UsageError('postgres.spawn', 'cannot run pg_dump'), before, false))).toBe(2);
  });

  it('a target the restore created: partly restored, and undone by dropping it', () => {
    const e = restoreStopped(pgRestoreFailed, { ...touched, safetyId: null }, false);
    expect(e.message.split('\n')[0]).toContain('mystocks may be partly restored (it did not exist before');
    expect(e.hint!.endsWith('To roll back: dropdb mystocks   # it did not exist before')).toBe(true);
  });

  it('stopped before the target was touched (during the safety set): says it was not touched, no roll-back', () => {
    const failed = restoreStopped(new JobError('space.low', 'only 1 GiB free', { hint: 'Free space.' }), before, false);
    expect(failed.message).toBe('only 1 GiB free; the restore of mystocks_20261125_000003 had not started: mystocks was not touched');
    expect(failed.hint).toBe('Free space. Nothing was restored.');
    const cancelled = restoreStopped(new CancelledError('SIGINT'), before, true);
    expect(cancelled).toBeInstanceOf(CancelledError);
    expect(cancelled.hint).toContain('mystocks is as it was');
    expect(cancelled.hint).not.toContain('roll back');
  });

  const filling: RestoreStage = { touched: false, setId: 'mystocks_20261125_000003', target: 'mystocks', staging: 'mystocks_pgtaos_new' };

  it('a failure while a new database was being filled: the target was not touched, no roll-back, exit 1 even for a usage error', () => {
    const e = restoreStopped(pgRestoreFailed, filling, false);
    expect(e.message.split('\n')[0]).toBe('pg_restore into mystocks failed (exit 1); mystocks was not touched (the restore of mystocks_20261125_000003 was filling a new database, mystocks_pgtaos_new, which is dropped):');
    expect(e.message).not.toContain('partly');
    expect(e.hint).toBe('Read the pg_restore lines above. Nothing was restored.');
    expect(exitCodeOf(restoreStopped(new UsageError('postgres.spawn', 'cannot run pg_restore'), filling, false))).toBe(1);
  });

  it('a cancel while a new database was being filled: cancelled, the target as it was, no roll-back', () => {
    const e = restoreStopped(new CancelledError('SIGTERM'), filling, true);
    expect(e).toBeInstanceOf(CancelledError);
    expect(e.message).toBe('cancelled by SIGTERM; mystocks was not touched (the restore of mystocks_20261125_000003 was filling a new database, mystocks_pgtaos_new, which is dropped)');
    expect(e.hint).toContain('mystocks is as it was');
    expect(e.hint).not.toContain('roll back');
  });

  it('roll-back commands', () => {
    expect(rollbackCommand('postgres', 'mystocks', 'safety_mystocks_20261126_031500')).toBe(rollback);
    expect(rollbackCommand('tdengine', 'market_data', 'safety_market_data_20261126_031500')).toBe('pgtaos-backup restore safety_market_data_20261126_031500 --engines tdengine --target market_data --confirm market_data');
    expect(rollbackCommand('tdengine', 'market_data', null)).toMatch(/^DROP DATABASE market_data/);
  });
});
