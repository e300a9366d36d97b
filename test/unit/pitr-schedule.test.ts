import { describe, expect, it } from 'vitest';
import { baseBackupDue } from '../../src/engines/barman/schedule.js';
import type { BaseBackup } from '../../src/engines/barman/barman.js';

const bb = (id: string, endedAt: string | null, status = 'DONE'): BaseBackup => ({ id, status, endedAt: endedAt ? new Date(endedAt) : null, bytes: 1, walBytes: 1 });

describe('baseBackupDue (pitr.base_backup_every_days)', () => {
  const tz = 'Asia/Shanghai';
  it('is due when Barman holds no finished base backup (none, or only FAILED / running ones)', () => {
    expect(baseBackupDue([], new Date('2026-12-06T16:00:00Z'), 7, tz).due).toBe(true);
    expect(baseBackupDue([bb('20261206T000000', null, 'STARTED'), bb('20261205T000000', '2026-12-05T00:01:00Z', 'FAILED')], new Date('2026-12-06T16:00:00Z'), 7, tz)).toEqual({ due: true, why: 'Barman holds no finished base backup' });
  });

  it('counts calendar days in the configured zone: a nightly run at a fixed hour takes one every N nights', () => {
    // Ended 00:03:20 local on 2026-11-29 (16:03:20Z on 11-28). The run at 00:00:05 local on 12-05 is 6 calendar days later:
    const newest = [bb('20261129T000300', '2026-11-28T16:03:20Z'), bb('20261122T000300', '2026-11-21T16:03:00Z')];
    expect(baseBackupDue(newest, new Date('2026-12-04T16:00:05Z'), 7, tz)).toEqual({ due: false, why: 'the newest, 20261129T000300, is 6 day(s) old; the next is due after 7 (base_backup_every_days; --force takes one now)' });
    // ... and the run the night after, 7 days by the calendar though 3 minutes short of 7 x 24 hours, takes one.
    expect(baseBackupDue(newest, new Date('2026-12-05T16:00:05Z'), 7, tz)).toEqual({ due: true, why: 'the newest, 20261129T000300, is 7 day(s) old (base_backup_every_days 7)' });
    // The zone decides the calendar: 2026-12-05T10:00Z is 12-05 in UTC (7 days after 11-28) but still 12-05 18:00 in Shanghai (6 after 11-29).
    expect(baseBackupDue(newest, new Date('2026-12-05T10:00:00Z'), 7, 'UTC').due).toBe(true);
    expect(baseBackupDue(newest, new Date('2026-12-05T10:00:00Z'), 7, tz).due).toBe(false);
  });

  it('every day: due each night, never twice the same day', () => {
    const newest = [bb('20261206T000300', '2026-12-05T16:03:20Z')];
    expect(baseBackupDue(newest, new Date('2026-12-06T10:00:00Z'), 1, tz).due).toBe(false);
    expect(baseBackupDue(newest, new Date('2026-12-06T16:00:05Z'), 1, tz).due).toBe(true);
  });
});
