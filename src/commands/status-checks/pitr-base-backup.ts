/** "pitr base backup": Barman's newest finished base backup is younger than pitr.base_backup_max_age_hours. */
import { HOUR_MS, hours, type StatusCheck } from './types.js';

export const pitrBaseBackupCheck: StatusCheck = {
  id: 'pitr_base_backup',
  label: 'pitr base backup',
  stale: true,
  evaluate(input, now) {
    const maxH = input.config.pitr?.base_backup_max_age_hours ?? 192;
    const backups = input.pitr?.backups;
    if (!backups) return { result: 'failed', detail: 'the base backups were not probed' };
    if ('error' in backups) return { result: 'failed', detail: `cannot list Barman's base backups: ${backups.error}` };
    const done = backups.filter((b) => b.status === 'DONE' && b.endedAt).sort((a, b) => b.endedAt!.getTime() - a.endedAt!.getTime());
    const newest = done[0];
    if (!newest) return { result: 'failed', detail: 'Barman holds no finished base backup: run `pgtaos-backup pitr backup`' };
    const age = now.getTime() - newest.endedAt!.getTime();
    const ok = age <= maxH * HOUR_MS;
    return { result: ok ? 'passed' : 'failed', detail: `${newest.id} ended ${newest.endedAt!.toISOString()}, ${hours(age)} ago ${ok ? '<=' : '>'} base_backup_max_age_hours ${maxH} (${done.length} finished)` };
  },
};
