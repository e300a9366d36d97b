/** "pitr WAL streaming": the newest WAL Barman received is younger than pitr.wal_max_age_minutes (a dead receiver otherwise). */
import type { StatusCheck } from './types.js';

const MINUTE_MS = 60_000;

export const pitrWalCheck: StatusCheck = {
  id: 'pitr_wal',
  label: 'pitr WAL streaming',
  // No WAL means no recovery to any point after the last one received: stale.
  stale: true,
  evaluate(input, now) {
    const max = input.config.pitr?.wal_max_age_minutes ?? 60;
    const at = input.pitr?.newestWal ?? null;
    if (!at) return { result: 'failed', detail: 'Barman holds no WAL: run `pgtaos-backup pitr setup` and keep `barman cron` running' };
    const minutes = Math.max(0, now.getTime() - at.getTime()) / MINUTE_MS;
    const ok = minutes <= max;
    return {
      result: ok ? 'passed' : 'failed',
      detail: `newest WAL received ${at.toISOString()}, ${minutes.toFixed(0)} min ago ${ok ? '<=' : '>'} wal_max_age_minutes ${max}${ok ? '' : ' (is `barman cron` running? see README, Point-in-time recovery)'}`,
    };
  },
};
