/** "pitr recoverable window": informational, "any time from X to Y" (the other pitr rows judge it). */
import type { StatusCheck } from './types.js';

export const pitrWindowCheck: StatusCheck = {
  id: 'pitr_window',
  label: 'pitr recoverable window',
  stale: false,
  evaluate(input) {
    const backups = input.pitr?.backups;
    const done = backups && !('error' in backups) ? backups.filter((b) => b.status === 'DONE' && b.endedAt) : [];
    const from = done.map((b) => b.endedAt!.getTime()).sort((a, b) => a - b)[0];
    if (from === undefined) return { result: 'skipped', detail: 'no recoverable window: Barman holds no finished base backup' };
    const to = Math.max(from, input.pitr?.newestWal?.getTime() ?? from);
    return { result: 'skipped', detail: `any time from ${new Date(from).toISOString()} to ${new Date(to).toISOString()} (informational)` };
  },
};
