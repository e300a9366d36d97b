/**
 * "incomplete sets": fails only for damaged sets (a set folder whose manifest is missing, truncated
 * or edited: it is not a backup, and prune leaves it for a person). Staging leftovers are listed but
 * do not fail this row (the retention row covers them).
 */
import { parseInstant } from '../../catalog/retention.js';
import { named, type StatusCheck } from './types.js';

export const incompleteCheck: StatusCheck = {
  id: 'incomplete_sets',
  label: 'incomplete sets',
  stale: false,
  evaluate(input) {
    const damaged = input.sets.filter((s) => !s.staging && (s.status !== 'complete' || parseInstant(s.started_at) === null));
    const staging = input.sets.filter((s) => s.staging);
    const stagingNote = staging.length
      ? `${staging.length} staging folder(s) ${input.lock ? `(a ${input.lock.command} run, pid ${input.lock.pid}, is in progress)` : 'left by runs that did not finish (the next backup, or prune, removes them)'}: ${named(staging.map((s) => s.id))}`
      : '';
    if (damaged.length > 0) {
      const why = damaged.map((s) => `${s.id} at ${s.path} (${s.status === 'complete' ? `started_at ${JSON.stringify(s.started_at)} is not a time with a UTC offset` : (s.damage ?? 'no valid manifest')})`);
      return {
        result: 'failed',
        detail: [`${damaged.length} damaged set(s), not counted as backups and kept for a person to inspect: ${named(why)}`, stagingNote].filter(Boolean).join('; '),
      };
    }
    return { result: 'passed', detail: stagingNote || 'none' };
  },
};
