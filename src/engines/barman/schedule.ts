/** Whether tonight's `pitr backup` takes a base backup (pitr.base_backup_every_days). Pure. */
import { localTime } from '../../catalog/time.js';
import type { BaseBackup } from './barman.js';

export interface Due {
  due: boolean;
  why: string;
}

/** Whole calendar days between two instants, as the wall clock of `timeZone` reads them. */
function calendarDays(from: Date, to: Date, timeZone: string): number {
  const utcMidnight = (d: Date) => {
    const s = localTime(d, timeZone).date;
    return Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8)));
  };
  return Math.round((utcMidnight(to) - utcMidnight(from)) / 86_400_000);
}

/**
 * Due when Barman holds no finished base backup, or the newest one ended `everyDays` or more calendar
 * days ago (so a nightly run at a fixed hour takes one every N nights, whatever minute the last ended).
 */
export function baseBackupDue(backups: BaseBackup[], now: Date, everyDays: number, timeZone: string): Due {
  const newest = backups.find((b) => b.status === 'DONE' && b.endedAt);
  if (!newest) return { due: true, why: 'Barman holds no finished base backup' };
  const days = calendarDays(newest.endedAt!, now, timeZone);
  if (days >= everyDays) return { due: true, why: `the newest, ${newest.id}, is ${days} day(s) old (base_backup_every_days ${everyDays})` };
  return { due: false, why: `the newest, ${newest.id}, is ${days} day(s) old; the next is due after ${everyDays} (base_backup_every_days; --force takes one now)` };
}
