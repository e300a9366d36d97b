/** "safety sets": safety sets taken before restores are kept until a person removes them; say they are there. */
import path from 'node:path';
import { parseInstant } from '../../catalog/retention.js';
import type { StatusCheck } from './types.js';

export const safetyCheck: StatusCheck = {
  id: 'safety_sets',
  label: 'safety sets',
  stale: false,
  evaluate(input) {
    const safety = input.sets
      .filter((s) => s.kind === 'safety' && s.status === 'complete')
      .sort((a, b) => (parseInstant(b.started_at) ?? 0) - (parseInstant(a.started_at) ?? 0));
    if (safety.length === 0) return { result: 'skipped', detail: 'none (restore takes one before replacing a database)' };
    return {
      result: 'passed',
      detail: `${safety.length} kept until removed by hand, newest ${safety[0]!.id} (${safety[0]!.started_at}): remove ${safety.length > 1 ? 'them' : 'it'} from ${path.join(input.config.root, 'safety')} once the restore is settled`,
    };
  },
};
