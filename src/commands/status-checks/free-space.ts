/** "free space": free space on root >= min_free_gb. */
import { GIB } from '../../catalog/space.js';
import { formatBytes } from '../../shared/format.js';
import type { StatusCheck } from './types.js';

export const freeSpaceCheck: StatusCheck = {
  id: 'free_space',
  label: 'free space',
  stale: false,
  evaluate(input) {
    const root = input.config.root;
    if ('error' in input.free) return { result: 'failed', detail: `cannot read the free space on ${root}: ${input.free.error}` };
    const need = input.config.min_free_gb * GIB;
    const ok = input.free.bytes >= need;
    return { result: ok ? 'passed' : 'failed', detail: `${formatBytes(input.free.bytes)} free on ${root} ${ok ? '>=' : '<'} min_free_gb ${input.config.min_free_gb} (${formatBytes(need)})` };
  },
};
